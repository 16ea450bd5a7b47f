/* Where an encoder's bytes go: a client's socket in the server, a buffer in tests and in
 * the benchmark. Encoders write whole wire messages into a sink and never see who reads
 * them, so an encoder can be tested and measured without a running server.
 */
#ifndef VGPU_BYTE_SINK_H
#define VGPU_BYTE_SINK_H

#include <stddef.h>

struct byte_sink {
	/* Write all n bytes: 0, or -1 when they cannot go (the peer is gone, out of memory);
	 * the encoder then stops the update and reports failure. */
	int (*write)(void *opaque, const void *buf, size_t n);
	void *opaque;
};

static inline int byte_sink_write(const struct byte_sink *s, const void *buf, size_t n)
{
	return s->write(s->opaque, buf, n);
}

#endif
