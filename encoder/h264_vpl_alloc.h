/* VA surfaces for the VPL session: the external frame allocator and the dma-buf imports.
 *
 * Every surface the session sees is a VA surface whose MemId is a struct h264_vpl_mid;
 * GetHDL hands the runtime a VASurfaceID * (as the Media SDK's own VA allocator does).
 * Two kinds:
 *  - allocated (Alloc/Free): the NV12 pool between VPP and ENCODE, and the internal frames
 *    a runtime asks the allocator for (NV12, RGB4, BGR4). Anything else (the Media SDK
 *    encoder's P8 bitstream buffers, system memory) gets MFX_ERR_UNSUPPORTED, on which the
 *    runtime falls back to its own allocator for internal frames, as it does with FFmpeg's;
 *  - imported: one per plane dma-buf, cached by dmabuf_id (GVT keeps an id while the plane
 *    info holds, pages flip between 2-3 buffers), H264_VPL_IMPORTS at most, least recently
 *    used out first. An id whose file (device, inode), layout or format changed is imported
 *    again, so a recycled id never encodes a stale buffer.
 * Lock is refused: nothing here is mapped for the CPU (a GVT dma-buf cannot be).
 *
 * Called by the encoder's owner thread, and by the runtime from inside the VPL calls made
 * on that thread. The struct must not move once initialised (it is the allocator's pthis).
 */
#ifndef VGPU_H264_VPL_ALLOC_H
#define VGPU_H264_VPL_ALLOC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <va/va.h>
#include <vpl/mfx.h>

#include "h264_encoder.h"
#include "h264_vpl_va.h"

#define H264_VPL_IMPORTS 8
#define H264_VPL_BLOCK_MAX 64 /* surfaces in one Alloc response */

struct h264_vpl_mid {
	VASurfaceID surface;
};

struct h264_vpl_import {
	bool used;
	uint32_t dmabuf_id;
	dev_t dev;
	ino_t ino;
	uint64_t modifier;
	uint32_t stride, size, fourcc, width, height;
	uint64_t last_use;
	struct h264_vpl_mid mid;
	mfxFrameSurface1 surf; /* Data.MemId = &mid; Info is the caller's */
};

struct h264_vpl_block;

struct h264_vpl_alloc {
	VADisplay dpy;
	struct h264_vpl_va_fns va;
	mfxFrameAllocator allocator; /* for MFXVideoCORE_SetFrameAllocator */
	struct h264_vpl_block *blocks; /* Alloc responses not freed yet */
	struct h264_vpl_import imports[H264_VPL_IMPORTS];
	uint64_t clock;
};

void h264_vpl_alloc_init(struct h264_vpl_alloc *a, VADisplay dpy,
			 const struct h264_vpl_va_fns *va);
/* Destroys every import and every block the runtime did not free. */
void h264_vpl_alloc_release(struct h264_vpl_alloc *a);

/* What Alloc and Free do, for the pool the application allocates itself. */
mfxStatus h264_vpl_alloc_frames(struct h264_vpl_alloc *a, mfxFrameAllocRequest *req,
				mfxFrameAllocResponse *resp);
mfxStatus h264_vpl_free_frames(struct h264_vpl_alloc *a, mfxFrameAllocResponse *resp);

/* The dma-buf's size: the frame's, else its file size; 0 if unknown. */
uint32_t h264_vpl_dmabuf_size(const struct h264_frame *f);

/* The surface of this frame's dma-buf (width × height pixels: the caller's view of it,
 * up to what the buffer holds), imported on a miss. 0; -EINVAL (a layout that does not
 * hold width × height, or no modifier), -ENOTSUP (no usable fd, or the driver refused
 * the import); -EAGAIN (its surface, or every cached one, is still the runtime's:
 * Data.Locked). */
int h264_vpl_alloc_import(struct h264_vpl_alloc *a, const struct h264_frame *f,
			  uint32_t width, uint32_t height, mfxFrameSurface1 **out);

#endif
