/* capture_bench: what one capture tick costs, against memcpy and a QEMU-style refresh.
 *
 *   capture_bench [--sizes WxH,...] [--scenes a,b,...] [--rounds N] [--reps N]
 *                 [--frames N] [--md FILE] [--kv FILE] [--tsv FILE]
 *
 * Part 1, the headline cases, from frames drawn once up front (bench_source.h), so that
 * nothing is drawn between ticks: "static" (the same buffer every tick) and "full" (two
 * buffers that differ in every pixel, flipped every tick: every tile changed). For each
 * size the methods take turns, round after round; each turn is one untimed frame (to
 * bring the method's own working set back into cache: each keeps its own shadow buffer,
 * as its steady state would) and then reps timed frames. Many short rounds rather than
 * one long block per method, so that a noisy moment on a shared machine hits every
 * method alike. Medians over rounds x reps frames.
 *
 * Part 2, the synthetic scenes, stepped tick by tick with synthetic_source_set_tick()
 * (the drawing happens there, timed apart and reported for reference); then the real
 * capture_tick() and the QEMU-style refresh each process that frame, in alternating
 * order.
 *
 * Output: Markdown tables (--md), key=value lines for the summary (--kv), and TSV rows
 * "size<TAB>case<TAB>method<TAB>ms" for the plots (--tsv; case: static, full or
 * scene-NAME).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench_source.h"
#include "bench_util.h"
#include "capture_methods.h"
#include "synthetic.h"

#define MAX_SIZES 8
#define MAX_SCENES 16
#define MAX_SAMPLES 4096
#define WARMUP 2      /* scene frames before timing (the first is the full first frame) */
#define BLOCK_WARMUP 1 /* frames a method runs untimed each time its turn comes */

struct opts {
	uint32_t w[MAX_SIZES], h[MAX_SIZES];
	unsigned n_sizes;
	char scenes[MAX_SCENES][16];
	unsigned n_scenes;
	unsigned rounds, reps, frames;
	FILE *md, *kv, *tsv;
};

static double ms_of(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "capture_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* ---- part 1: static and full --------------------------------------------------------- */

struct headline {
	double ms[2][METHOD_COUNT]; /* [static, full][method] medians */
};

static void run_headline(const struct opts *o, uint32_t w, uint32_t h, struct headline *out)
{
	static double samples[METHOD_COUNT][MAX_SAMPLES];
	for (int kind = 0; kind < 2; kind++) {
		struct plane_source *src;
		struct capture_rig *rig;
		int r = bench_source_create(kind ? BENCH_SOURCE_FULL : BENCH_SOURCE_STATIC, w, h, &src);
		if (r < 0)
			die("bench source", r);
		if ((r = capture_rig_create(src, w, h, &rig)) < 0)
			die("capture rig", r);
		size_t n[METHOD_COUNT] = {0};
		for (unsigned round = 0; round < o->rounds; round++) {
			for (int m = 0; m < METHOD_COUNT; m++) {
				for (unsigned i = 0; i < BLOCK_WARMUP + o->reps; i++) {
					uint32_t stride;
					bench_source_step(src);
					const uint8_t *px = bench_source_pixels(src, &stride);
					uint64_t t0 = bench_now_ns();
					capture_rig_run(rig, (enum capture_method)m, px, stride);
					uint64_t t1 = bench_now_ns();
					if (i >= BLOCK_WARMUP && n[m] < MAX_SAMPLES)
						samples[m][n[m]++] = ms_of(t1 - t0);
				}
			}
		}
		for (int m = 0; m < METHOD_COUNT; m++)
			out->ms[kind][m] = bench_median(samples[m], n[m]);
		capture_rig_destroy(rig);
		plane_source_destroy(src);
	}
}

static void print_headline(const struct opts *o, struct headline *hl)
{
	static const char *const kinds[2] = {"static", "full"};
	fprintf(o->md, "| size | frame | memcpy ms | QEMU-style ms | **capture_tick ms** | "
		       "**capture / memcpy** | capture / QEMU | damage + per-tile copy ms | "
		       "damage + runs ms | damage_refine_copy ms | refine_copy / memcpy |\n"
		       "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (unsigned s = 0; s < o->n_sizes; s++) {
		for (int k = 0; k < 2; k++) {
			const double *ms = hl[s].ms[k];
			double mc = ms[METHOD_MEMCPY];
			fprintf(o->md,
				"| %ux%u | %s | %.3f | %.3f | %.3f | **%.2f** | %.2f | %.3f | %.3f | %.3f | "
				"%.2f |\n",
				o->w[s], o->h[s], kinds[k], mc, ms[METHOD_QEMU], ms[METHOD_CAPTURE],
				ms[METHOD_CAPTURE] / mc, ms[METHOD_CAPTURE] / ms[METHOD_QEMU],
				ms[METHOD_PIECES], ms[METHOD_RUNS], ms[METHOD_FUSED], ms[METHOD_FUSED] / mc);
			for (int m = 0; m < METHOD_COUNT; m++)
				fprintf(o->tsv, "%ux%u\t%s\t%s\t%.4f\n", o->w[s], o->h[s], kinds[k],
					capture_method_names[m], ms[m]);
			for (int m = 1; m < METHOD_COUNT; m++)
				fprintf(o->kv, "%s_%s_%ux%u_vs_memcpy=%.3f\n", capture_method_names[m],
					kinds[k], o->w[s], o->h[s], ms[m] / mc);
			fprintf(o->kv, "capture_%s_%ux%u_vs_qemu=%.3f\n", kinds[k], o->w[s], o->h[s],
				ms[METHOD_CAPTURE] / ms[METHOD_QEMU]);
			fprintf(o->kv, "memcpy_%s_%ux%u_ms=%.4f\n", kinds[k], o->w[s], o->h[s], mc);
		}
	}
}

/* ---- part 2: the synthetic scenes ---------------------------------------------------- */

/* The synthetic buffers mapped read-only by id, for the QEMU-style method. */
struct mapped {
	uint32_t id;
	uint8_t *map;
	size_t len;
};

static const uint8_t *scene_pixels(struct plane_source *src, struct mapped *maps, unsigned n,
				   uint32_t *stride)
{
	struct plane_info p;
	if (plane_source_query(src, PLANE_PRIMARY, &p) < 0 || !p.dmabuf_id)
		die("synthetic query", EIO);
	*stride = p.stride;
	for (unsigned i = 0; i < n; i++) {
		if (maps[i].id == p.dmabuf_id)
			return maps[i].map;
		if (maps[i].id)
			continue;
		int fd = plane_source_get_dmabuf(src, p.dmabuf_id);
		if (fd < 0)
			die("synthetic dmabuf", fd);
		void *m = mmap(NULL, p.size, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		if (m == MAP_FAILED)
			die("mmap", errno);
		maps[i] = (struct mapped){p.dmabuf_id, m, p.size};
		return m;
	}
	die("too many buffers", ENOSPC);
	return NULL;
}

struct scene_result {
	double capture_ms, qemu_ms, changed_pct, draw_ms;
};

static void run_scene(const struct opts *o, uint32_t w, uint32_t h, const char *scene,
		      struct scene_result *out)
{
	static double cap_ms[MAX_SAMPLES], qemu_ms[MAX_SAMPLES], draw_ms[MAX_SAMPLES];
	char spec[96], err[256];
	struct plane_source *src;
	struct capture_rig *rig;
	struct mapped maps[4] = {{0}};
	snprintf(spec, sizeof(spec), "%ux%u:%s", w, h, scene);
	int r = synthetic_source_create(spec, &src, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "capture_bench: %s\n", err);
		exit(1);
	}
	if ((r = capture_rig_create(src, w, h, &rig)) < 0)
		die("capture rig", r);
	unsigned n = 0, frames = o->frames < MAX_SAMPLES ? o->frames : MAX_SAMPLES;
	size_t tiles = 0;
	for (unsigned t = 0; t < WARMUP + 1 + frames; t++) {
		uint64_t d0 = bench_now_ns();
		synthetic_source_set_tick(src, t); /* draws: timed apart, for reference */
		double draw = ms_of(bench_now_ns() - d0);
		uint32_t stride;
		const uint8_t *px = scene_pixels(src, maps, 4, &stride);
		double ms[2];
		size_t changed = 0;
		for (int k = 0; k < 2; k++) {
			/* alternate which goes first, so neither always finds the frame cached */
			enum capture_method m = ((t + (unsigned)k) & 1) ? METHOD_CAPTURE : METHOD_QEMU;
			uint64_t t0 = bench_now_ns();
			size_t c = capture_rig_run(rig, m, px, stride);
			ms[m == METHOD_CAPTURE] = ms_of(bench_now_ns() - t0);
			if (m == METHOD_CAPTURE)
				changed = c;
		}
		if (t <= WARMUP)
			continue;
		qemu_ms[n] = ms[0];
		draw_ms[n] = draw;
		cap_ms[n++] = ms[1];
		tiles += changed;
	}
	out->capture_ms = bench_median(cap_ms, n);
	out->qemu_ms = bench_median(qemu_ms, n);
	out->draw_ms = bench_median(draw_ms, n);
	out->changed_pct = 100.0 * (double)tiles / ((double)n * (double)capture_rig_tiles(rig));
	for (unsigned i = 0; i < 4; i++)
		if (maps[i].map)
			munmap(maps[i].map, maps[i].len);
	capture_rig_destroy(rig);
	plane_source_destroy(src);
}

static void run_scenes(const struct opts *o, const struct headline *hl)
{
	fprintf(o->md, "\n| size | scene | tiles changed / frame | capture_tick ms | "
		       "QEMU-style ms | capture / memcpy | capture / QEMU | vGPU draw ms |\n"
		       "|---|---|---:|---:|---:|---:|---:|---:|\n");
	for (unsigned s = 0; s < o->n_sizes; s++) {
		for (unsigned i = 0; i < o->n_scenes; i++) {
			struct scene_result r;
			run_scene(o, o->w[s], o->h[s], o->scenes[i], &r);
			double mc = hl[s].ms[0][METHOD_MEMCPY];
			fprintf(o->md, "| %ux%u | %s | %.1f%% | %.3f | %.3f | %.2f | %.2f | %.3f |\n",
				o->w[s], o->h[s], o->scenes[i], r.changed_pct, r.capture_ms, r.qemu_ms,
				r.capture_ms / mc, r.capture_ms / r.qemu_ms, r.draw_ms);
			fprintf(o->tsv, "%ux%u\tscene-%s\tcapture\t%.4f\n", o->w[s], o->h[s],
				o->scenes[i], r.capture_ms);
			fprintf(o->tsv, "%ux%u\tscene-%s\tqemu\t%.4f\n", o->w[s], o->h[s],
				o->scenes[i], r.qemu_ms);
			fprintf(o->kv, "scene_%s_%ux%u_vs_memcpy=%.3f\n", o->scenes[i], o->w[s], o->h[s],
				r.capture_ms / mc);
			fprintf(o->kv, "scene_%s_%ux%u_vs_qemu=%.3f\n", o->scenes[i], o->w[s], o->h[s],
				r.capture_ms / r.qemu_ms);
		}
	}
}

/* ---- options ------------------------------------------------------------------------- */

static void parse_sizes(struct opts *o, const char *s)
{
	o->n_sizes = 0;
	while (*s && o->n_sizes < MAX_SIZES) {
		unsigned w, h;
		int used = 0;
		if (sscanf(s, "%ux%u%n", &w, &h, &used) != 2 || w < 64 || h < 64 || w > 8192 ||
		    h > 8192) {
			fprintf(stderr, "capture_bench: bad size in '%s'\n", s);
			exit(2);
		}
		o->w[o->n_sizes] = w;
		o->h[o->n_sizes++] = h;
		s += used;
		s += *s == ',';
	}
}

static void parse_scenes(struct opts *o, const char *s)
{
	o->n_scenes = 0;
	while (*s && o->n_scenes < MAX_SCENES) {
		size_t len = strcspn(s, ",");
		snprintf(o->scenes[o->n_scenes++], sizeof(o->scenes[0]), "%.*s", (int)len, s);
		s += len;
		s += *s == ',';
	}
}

int main(int argc, char **argv)
{
	struct opts o = {.rounds = 12, .reps = 4, .frames = 60, .md = stdout, .kv = stdout};
	parse_sizes(&o, "1280x720,1920x1080,3840x2160");
	parse_scenes(&o, "static,typing,scroll,drag,video,flip");
	o.tsv = fopen("/dev/null", "w");
	const struct bench_opt opts[] = {
		{"--rounds", BENCH_OPT_UNSIGNED, &o.rounds}, {"--reps", BENCH_OPT_UNSIGNED, &o.reps},
		{"--frames", BENCH_OPT_UNSIGNED, &o.frames}, {"--md", BENCH_OPT_OUTPUT, &o.md},
		{"--kv", BENCH_OPT_OUTPUT, &o.kv},           {"--tsv", BENCH_OPT_OUTPUT, &o.tsv},
	};
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--sizes"))
			parse_sizes(&o, v);
		else if (!strcmp(k, "--scenes"))
			parse_scenes(&o, v);
		else if (!bench_opt_set(opts, sizeof(opts) / sizeof(opts[0]), k, v)) {
			fprintf(stderr, "capture_bench: unknown option %s\n", k);
			return 2;
		}
	}
	if (!o.rounds || !o.reps || !o.frames || o.rounds * o.reps > MAX_SAMPLES) {
		fprintf(stderr, "capture_bench: rounds, reps and frames must be 1..%d\n", MAX_SAMPLES);
		return 2;
	}
	struct headline hl[MAX_SIZES];
	for (unsigned s = 0; s < o.n_sizes; s++)
		run_headline(&o, o.w[s], o.h[s], &hl[s]);
	print_headline(&o, hl);
	run_scenes(&o, hl);
	fclose(o.tsv);
	if (o.md != stdout)
		fclose(o.md);
	if (o.kv != stdout)
		fclose(o.kv);
	return 0;
}
