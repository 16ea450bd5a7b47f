/* Closing file descriptors that may not be open.
 *
 * Many owners keep an fd that is -1 until opened and must be -1 again once closed, so a
 * second close (an error path, then the destructor) is harmless.
 */
#ifndef VGPU_FD_H
#define VGPU_FD_H

#include <unistd.h>

/* Close *fd if it is open, and mark it closed. */
static inline void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

#endif
