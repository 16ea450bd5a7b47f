/* vpl_zero_copy_bench: how many bytes of the guest's frame the capture thread reads per
 * frame while every client takes H.264 from the VPL back end (the answer should be 0),
 * and, as the baseline, once a client that needs CPU pixels (Tight-JPEG) is there.
 *
 *   vpl_zero_copy_bench [--size WxH] [--frames N] [--scene S] [--md F] [--kv F]
 *
 * The rig is tests/fake_vpl/zero_copy_rig.h: the real capture tick on the synthetic vGPU
 * (memfd dma-bufs), the real frame store, server and shared stream, the real VPL back end
 * on the fake runtime (this program points ONEVPL_SEARCH_PATH at it unless set). Each
 * frame: the scene steps one tick, the capture tick runs, the H.264 client updates. The
 * figure is capture_stats.pixel_bytes over the frames: a count, not a timing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zero_copy_rig.h"

struct opts {
	uint32_t w, h;
	unsigned frames;
	const char *scene;
	FILE *md, *kv;
};

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "vpl_zero_copy_bench: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return f;
}

static void parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.w = 1920, .h = 1080, .frames = 60, .scene = "desktop"};
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--size") && sscanf(v, "%ux%u", &o->w, &o->h) == 2)
			continue;
		if (!strcmp(k, "--frames") && sscanf(v, "%u", &o->frames) == 1 && o->frames > 0)
			continue;
		if (!strcmp(k, "--scene"))
			o->scene = v;
		else if (!strcmp(k, "--md"))
			o->md = open_out(v);
		else if (!strcmp(k, "--kv"))
			o->kv = open_out(v);
		else {
			fprintf(stderr, "vpl_zero_copy_bench: bad option %s %s\n", k, v);
			exit(2);
		}
	}
}

/* Bytes read per frame over o->frames frames from tick *t on. */
static double per_frame(struct zc_rig *r, const struct opts *o, uint64_t *t)
{
	char err[256];
	uint64_t before = zc_rig_pixel_bytes(r);
	for (unsigned i = 0; i < o->frames; i++) {
		int rc = zc_rig_tick(r, (*t)++, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "vpl_zero_copy_bench: frame %u: %s (%s)\n", i, err,
				strerror(-rc));
			exit(1);
		}
	}
	return (double)(zc_rig_pixel_bytes(r) - before) / o->frames;
}

int main(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o);
#ifdef FAKE_VPL_DIR
	setenv("ONEVPL_SEARCH_PATH", FAKE_VPL_DIR, 0);
#endif
	static struct zc_rig r;
	char spec[96], err[256];
	snprintf(spec, sizeof(spec), "%ux%u:%s", o.w, o.h, o.scene);
	int rc = zc_rig_create(&r, spec, o.w, o.h, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "vpl_zero_copy_bench: %s\n", err);
		return 1;
	}
	/* The first frame joins the stream (read, until the stream imports). */
	uint64_t t = 0;
	if (zc_rig_tick(&r, t++, err, sizeof(err)) < 0 || !r.zero_copy) {
		fprintf(stderr, "vpl_zero_copy_bench: the stream does not import: %s\n", err);
		return 1;
	}
	double vpl = per_frame(&r, &o, &t);
	frame_store_count_client(&r.frames, 1); /* a Tight-JPEG client joins */
	double mixed = per_frame(&r, &o, &t);
	uint64_t encodes = atomic_load(&h264_hub_stats(r.hub)->encodes);
	zc_rig_destroy(&r);

	printf("%ux%u %s, %u frames: %.0f bytes/frame read with H.264 (VPL) clients only, "
	       "%.0f with a Tight-JPEG client too (%llu encodes)\n",
	       o.w, o.h, o.scene, o.frames, vpl, mixed, (unsigned long long)encodes);
	if (o.md) {
		fprintf(o.md, "| clients | CPU pixel bytes read / frame |\n|---|---:|\n");
		fprintf(o.md, "| H.264 (VPL) only | %.0f |\n", vpl);
		fprintf(o.md, "| H.264 (VPL) + Tight-JPEG | %.0f |\n", mixed);
		fclose(o.md);
	}
	if (o.kv) {
		fprintf(o.kv, "vpl_cpu_pixel_bytes_per_frame=%.0f\n", vpl);
		fprintf(o.kv, "mixed_cpu_pixel_bytes_per_frame=%.0f\n", mixed);
		fclose(o.kv);
	}
	return 0;
}
