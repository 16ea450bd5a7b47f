/* External frame allocator (mids wrap VASurfaceIDs) and the dma-buf import cache. */
#include "h264_vpl_alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h264_vpl_session.h" /* VPL_FRAME_ERROR */
#include "h264_vpl_va.h"
#include "log.h"

struct h264_vpl_block {
	struct h264_vpl_block *next;
	mfxU16 n;
	mfxMemId memids[H264_VPL_BLOCK_MAX]; /* what the response points at */
	struct h264_vpl_mid mids[H264_VPL_BLOCK_MAX];
	VASurfaceID ids[H264_VPL_BLOCK_MAX];
};

/* The VA formats of the surfaces we allocate; 0 for what we leave to the runtime. */
static uint32_t alloc_format(mfxU32 fourcc, unsigned *rt_format)
{
	switch (fourcc) {
	case MFX_FOURCC_NV12:
		*rt_format = VA_RT_FORMAT_YUV420;
		return VA_FOURCC_NV12;
	case MFX_FOURCC_RGB4: /* the Media SDK's VA allocator's choices */
		*rt_format = VA_RT_FORMAT_RGB32;
		return VA_FOURCC_ARGB;
	case MFX_FOURCC_BGR4:
		*rt_format = VA_RT_FORMAT_RGB32;
		return VA_FOURCC_ABGR;
	default:
		return 0;
	}
}

mfxStatus h264_vpl_alloc_frames(struct h264_vpl_alloc *a, mfxFrameAllocRequest *req,
				mfxFrameAllocResponse *resp)
{
	if (!req || !resp)
		return MFX_ERR_NULL_PTR;
	unsigned rt = 0;
	uint32_t va_fourcc = alloc_format(req->Info.FourCC, &rt);
	if (!(req->Type & (MFX_MEMTYPE_VIDEO_MEMORY_DECODER_TARGET |
			   MFX_MEMTYPE_VIDEO_MEMORY_PROCESSOR_TARGET)) ||
	    !va_fourcc) {
		/* Expected for the encoder's P8 bitstream buffers: the runtime allocates
		 * internal frames itself when we decline. */
		log_debug("VPL allocator: declining type 0x%x fourcc 0x%08x %ux%u", req->Type,
			  req->Info.FourCC, req->Info.Width, req->Info.Height);
		return MFX_ERR_UNSUPPORTED;
	}
	unsigned n = req->NumFrameSuggested > req->NumFrameMin ? req->NumFrameSuggested
							      : req->NumFrameMin;
	if (n == 0)
		n = 1;
	if (n > H264_VPL_BLOCK_MAX) {
		log_error("VPL allocator: %u surfaces asked for, at most %u", n,
			  H264_VPL_BLOCK_MAX);
		return MFX_ERR_MEMORY_ALLOC;
	}
	struct h264_vpl_block *b = calloc(1, sizeof(*b));
	if (!b)
		return MFX_ERR_MEMORY_ALLOC;
	VASurfaceAttrib attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = VASurfaceAttribPixelFormat;
	attr.flags = VA_SURFACE_ATTRIB_SETTABLE;
	attr.value.type = VAGenericValueTypeInteger;
	attr.value.value.i = (int)va_fourcc;
	VAStatus st = a->va.create_surfaces(a->dpy, rt, req->Info.Width, req->Info.Height, b->ids,
					    n, &attr, 1);
	if (st != VA_STATUS_SUCCESS) {
		log_error("VPL allocator: vaCreateSurfaces(%u × %ux%u, fourcc 0x%08x): %s", n,
			  req->Info.Width, req->Info.Height, va_fourcc, vaErrorStr(st));
		free(b);
		return MFX_ERR_MEMORY_ALLOC;
	}
	b->n = (mfxU16)n;
	for (unsigned i = 0; i < n; i++) {
		b->mids[i].surface = b->ids[i];
		b->memids[i] = &b->mids[i];
	}
	b->next = a->blocks;
	a->blocks = b;
	resp->mids = b->memids;
	resp->NumFrameActual = b->n;
	return MFX_ERR_NONE;
}

mfxStatus h264_vpl_free_frames(struct h264_vpl_alloc *a, mfxFrameAllocResponse *resp)
{
	if (!resp)
		return MFX_ERR_NULL_PTR;
	for (struct h264_vpl_block **p = &a->blocks; *p; p = &(*p)->next) {
		struct h264_vpl_block *b = *p;
		if (b->memids != resp->mids)
			continue;
		VAStatus st = a->va.destroy_surfaces(a->dpy, b->ids, b->n);
		if (st != VA_STATUS_SUCCESS)
			log_warn("VPL allocator: vaDestroySurfaces: %s", vaErrorStr(st));
		*p = b->next;
		free(b);
		resp->mids = NULL;
		resp->NumFrameActual = 0;
		return MFX_ERR_NONE;
	}
	log_warn("VPL allocator: Free of a response it did not allocate");
	return MFX_ERR_INVALID_HANDLE;
}

static mfxStatus cb_alloc(mfxHDL pthis, mfxFrameAllocRequest *req, mfxFrameAllocResponse *resp)
{
	return h264_vpl_alloc_frames(pthis, req, resp);
}

static mfxStatus cb_free(mfxHDL pthis, mfxFrameAllocResponse *resp)
{
	return h264_vpl_free_frames(pthis, resp);
}

static mfxStatus cb_lock(mfxHDL pthis, mfxMemId mid, mfxFrameData *ptr)
{
	(void)pthis, (void)mid, (void)ptr;
	static struct log_ratelimit rl;
	log_ratelimited(&rl, 10000, LOG_WARN,
			"VPL allocator: the runtime asked to map a surface for the CPU; refused");
	return MFX_ERR_UNSUPPORTED;
}

static mfxStatus cb_unlock(mfxHDL pthis, mfxMemId mid, mfxFrameData *ptr)
{
	(void)pthis, (void)mid, (void)ptr;
	return MFX_ERR_NONE;
}

static mfxStatus cb_gethdl(mfxHDL pthis, mfxMemId mid, mfxHDL *handle)
{
	(void)pthis;
	if (!mid || !handle)
		return MFX_ERR_INVALID_HANDLE;
	/* VASurfaceID *, which is what the VA-API runtimes expect from GetHDL. */
	*handle = &((struct h264_vpl_mid *)mid)->surface;
	return MFX_ERR_NONE;
}

void h264_vpl_alloc_init(struct h264_vpl_alloc *a, VADisplay dpy,
			 const struct h264_vpl_va_fns *va)
{
	memset(a, 0, sizeof(*a));
	a->dpy = dpy;
	a->va = *va;
	a->allocator.pthis = a;
	a->allocator.Alloc = cb_alloc;
	a->allocator.Lock = cb_lock;
	a->allocator.Unlock = cb_unlock;
	a->allocator.GetHDL = cb_gethdl;
	a->allocator.Free = cb_free;
}

static void drop_import(struct h264_vpl_alloc *a, struct h264_vpl_import *im)
{
	if (!im->used)
		return;
	VAStatus st = a->va.destroy_surfaces(a->dpy, &im->mid.surface, 1);
	if (st != VA_STATUS_SUCCESS)
		log_warn("VPL encoder: vaDestroySurfaces (dma-buf %u): %s", im->dmabuf_id,
			 vaErrorStr(st));
	memset(im, 0, sizeof(*im));
}

void h264_vpl_alloc_release(struct h264_vpl_alloc *a)
{
	for (unsigned i = 0; i < H264_VPL_IMPORTS; i++)
		drop_import(a, &a->imports[i]);
	while (a->blocks) {
		struct h264_vpl_block *b = a->blocks;
		a->blocks = b->next;
		a->va.destroy_surfaces(a->dpy, b->ids, b->n);
		free(b);
	}
}

static bool same_buffer(const struct h264_vpl_import *im, const struct va_prime_buf *d,
			const struct stat *st)
{
	return im->dev == st->st_dev && im->ino == st->st_ino && im->modifier == d->modifier &&
	       im->stride == d->stride && im->size == d->size && im->fourcc == d->drm_fourcc &&
	       im->width == d->width && im->height == d->height;
}

/* The slot for a new import: a free one, else the least recently used idle one. */
static struct h264_vpl_import *pick_slot(struct h264_vpl_alloc *a)
{
	struct h264_vpl_import *lru = NULL;
	for (unsigned i = 0; i < H264_VPL_IMPORTS; i++) {
		struct h264_vpl_import *im = &a->imports[i];
		if (!im->used)
			return im;
		if (im->surf.Data.Locked)
			continue; /* the runtime still holds it */
		if (!lru || im->last_use < lru->last_use)
			lru = im;
	}
	return lru;
}

uint32_t h264_vpl_dmabuf_size(const struct h264_frame *f)
{
	if (f->dmabuf_size)
		return f->dmabuf_size;
	/* Not given: a dma-buf's size is its file size. */
	off_t end = lseek(f->dmabuf_fd, 0, SEEK_END);
	return end > 0 && end <= UINT32_MAX ? (uint32_t)end : 0;
}

int h264_vpl_alloc_import(struct h264_vpl_alloc *a, const struct h264_frame *f,
			  uint32_t width, uint32_t height, mfxFrameSurface1 **out)
{
	if (f->dmabuf_fd < 0)
		return -ENOTSUP;
	struct stat st;
	if (fstat(f->dmabuf_fd, &st) < 0) {
		VPL_FRAME_ERROR("fstat on dma-buf %u (fd %d): %s", f->dmabuf_id, f->dmabuf_fd,
				strerror(errno));
		return -ENOTSUP;
	}
	struct va_prime_buf d = {
		.fd = f->dmabuf_fd,
		.drm_fourcc = f->fourcc,
		.width = width,
		.height = height,
		.stride = f->dmabuf_stride,
		.size = h264_vpl_dmabuf_size(f),
		.modifier = f->modifier,
	};

	struct h264_vpl_import *slot = NULL;
	for (unsigned i = 0; i < H264_VPL_IMPORTS; i++) {
		struct h264_vpl_import *im = &a->imports[i];
		if (!im->used || im->dmabuf_id != f->dmabuf_id)
			continue;
		if (same_buffer(im, &d, &st)) {
			if (im->surf.Data.Locked) {
				/* Still the runtime's (a frame it has not finished). */
				VPL_FRAME_ERROR("dma-buf %u: its surface is still in use",
						f->dmabuf_id);
				return -EAGAIN;
			}
			im->last_use = ++a->clock;
			*out = &im->surf;
			return 0;
		}
		/* Same id, another buffer: the id was recycled or the plane changed. */
		log_debug("VPL encoder: dma-buf id %u changed; importing it again", f->dmabuf_id);
		if (im->surf.Data.Locked)
			return -EAGAIN;
		drop_import(a, im);
		slot = im;
		break;
	}
	if (!slot)
		slot = pick_slot(a);
	if (!slot) {
		VPL_FRAME_ERROR("all %u imported surfaces are in use", H264_VPL_IMPORTS);
		return -EAGAIN;
	}
	drop_import(a, slot);

	char why[320];
	VASurfaceID id = VA_INVALID_SURFACE;
	int r = h264_vpl_va_import(a->dpy, &a->va, &d, &id, why, sizeof(why));
	if (r < 0) {
		VPL_FRAME_ERROR("importing dma-buf %u: %s", f->dmabuf_id, why);
		return r;
	}
	slot->used = true;
	slot->dmabuf_id = f->dmabuf_id;
	slot->dev = st.st_dev;
	slot->ino = st.st_ino;
	slot->modifier = d.modifier;
	slot->stride = d.stride;
	slot->size = d.size;
	slot->fourcc = d.drm_fourcc;
	slot->width = d.width;
	slot->height = d.height;
	slot->last_use = ++a->clock;
	slot->mid.surface = id;
	memset(&slot->surf, 0, sizeof(slot->surf));
	slot->surf.Data.MemId = &slot->mid;
	log_debug("VPL encoder: dma-buf %u imported as VA surface %u", f->dmabuf_id, id);
	*out = &slot->surf;
	return 0;
}
