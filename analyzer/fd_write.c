/*
 * fd_write.c - writing all of a buffer to a file descriptor (fd_write.h).
 */
#include "fd_write.h"

#include <errno.h>
#include <unistd.h>

int fd_writev_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t k = writev(fd, iov, n);
		size_t done;

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0) {
			errno = ENOSPC;
			return -1;
		}
		/* What a short write left: the rest of the vectors. */
		for (done = (size_t)k; n > 0 && done >= iov->iov_len; iov++, n--)
			done -= iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

int fd_write_all(int fd, const void *p, size_t n)
{
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };

	return fd_writev_all(fd, &iov, 1);
}
