/*
 * fd_write.h - writing all of a buffer to a file descriptor: the one
 * loop over short writes and EINTR, for the evidence export's files and
 * attachments and the output's blocks of lines.
 */
#ifndef IMT_FD_WRITE_H
#define IMT_FD_WRITE_H

#include <stddef.h>
#include <sys/uio.h>

/* Writes iov[0, n) in order, as many writev(2)s as the kernel needs
 * (iov is moved past what was written).  Returns 0, or -1 with errno set
 * (ENOSPC when a write took nothing). */
int fd_writev_all(int fd, struct iovec *iov, int n);

/* The same for p[0, n). */
int fd_write_all(int fd, const void *p, size_t n);

#endif
