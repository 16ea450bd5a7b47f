/* The current plane and a dup of its dma-buf, under one small lock. */
#include "frame_store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void frame_store_init(struct frame_store *fs)
{
	memset(fs, 0, sizeof(*fs));
	pthread_mutex_init(&fs->lock, NULL);
	fs->fd = -1;
}

void frame_store_destroy(struct frame_store *fs)
{
	if (fs->fd >= 0)
		close(fs->fd);
	fs->fd = -1;
	pthread_mutex_destroy(&fs->lock);
}

void frame_store_publish(struct frame_store *fs, const struct plane_info *plane, int fd,
			 bool changed)
{
	pthread_mutex_lock(&fs->lock);
	bool same_buffer = fs->plane.dmabuf_id == plane->dmabuf_id &&
			   plane_info_same_geometry(&fs->plane, plane);
	if (!same_buffer) {
		if (fs->fd >= 0)
			close(fs->fd);
		fs->fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	}
	if (changed || !same_buffer)
		fs->generation++;
	fs->plane = *plane;
	pthread_mutex_unlock(&fs->lock);
	if (fs->on_publish)
		fs->on_publish(fs->on_publish_arg);
}

void frame_store_clear(struct frame_store *fs)
{
	pthread_mutex_lock(&fs->lock);
	if (fs->fd >= 0)
		close(fs->fd);
	fs->fd = -1;
	if (fs->plane.dmabuf_id || fs->plane.is_region)
		fs->generation++;
	memset(&fs->plane, 0, sizeof(fs->plane));
	pthread_mutex_unlock(&fs->lock);
}

int frame_store_snapshot(struct frame_store *fs, struct frame_snapshot *out)
{
	pthread_mutex_lock(&fs->lock);
	out->plane = fs->plane;
	out->generation = fs->generation;
	out->fd = fs->fd >= 0 ? fcntl(fs->fd, F_DUPFD_CLOEXEC, 0) : -1;
	bool none = !fs->plane.dmabuf_id && !fs->plane.is_region;
	pthread_mutex_unlock(&fs->lock);
	return none ? -ENOENT : 0;
}

uint64_t frame_store_generation(struct frame_store *fs)
{
	pthread_mutex_lock(&fs->lock);
	uint64_t g = fs->generation;
	pthread_mutex_unlock(&fs->lock);
	return g;
}

void frame_store_count_client(struct frame_store *fs, int delta)
{
	atomic_fetch_add(&fs->clients, (unsigned)delta);
}

void frame_store_count_zero_copy(struct frame_store *fs, int delta)
{
	atomic_fetch_add(&fs->zero_copy, (unsigned)delta);
}

bool frame_store_needs_pixels(struct frame_store *fs)
{
	unsigned clients = atomic_load(&fs->clients), zero_copy = atomic_load(&fs->zero_copy);
	return clients == 0 || zero_copy < clients;
}

void frame_store_set_publish_hook(struct frame_store *fs, void (*fn)(void *arg), void *arg)
{
	fs->on_publish = fn;
	fs->on_publish_arg = arg;
}
