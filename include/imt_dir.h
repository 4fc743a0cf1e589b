/*
 * imt_dir.h - the direction of stream bytes, of an event and of a
 * finding: the one direction type of the tree.
 *
 * Arrays kept per direction are indexed by it (IMT_C2S, IMT_S2C); events
 * and findings that belong to no direction carry IMT_DIR_NONE.
 */
#ifndef IMT_DIR_H
#define IMT_DIR_H

enum imt_dir {
	IMT_DIR_NONE = -1,   /* not tied to a direction */
	IMT_C2S = 0,         /* client to server */
	IMT_S2C = 1,         /* server to client */
};

/* The number of directions, for arrays indexed by enum imt_dir. */
#define IMT_NDIRS 2

#endif
