/* vnc_bench: benchmarks of the real server process.
 *
 *   vnc_bench idle|servers|latency|scale|peer --bin PATH/vgpu-vnc [options]
 *   vnc_bench floor --size WxH --fps N --seconds S        (started by idle)
 *
 * Options: --size WxH (1920x1080) --fps N (30) --seconds S (10) --settle S (2)
 *          --samples N (200) --clients 1,8,32 --scenes a,b --encodings raw,tight-jpeg,h264
 *          --servers N (16) --quality Q (6) --logdir DIR (.) --md F --kv F --tsv F
 *          --server-arg ARG (repeatable: passed to every vgpu-vnc started)
 *          --peer PATH/neatvnc_peer (peer: the server measured beside vgpu-vnc)
 * VB_DEBUG=1 in the environment shows libvncclient's errors (the latency clients).
 * See idle.c, latency.c, scale.c, peer.c for what each measures and how.
 */
#include "vnc_bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "rfb_test_client.h"

int vb_have_h264(void)
{
#ifdef VGPU_BENCH_HAVE_H264
	return 1;
#else
	return 0;
#endif
}

int vb_probe_open(struct rr *p, int port)
{
	char err[sizeof(p->why)];
	if (rr_connect(p, "client", "127.0.0.1", port, err, sizeof(err)) < 0)
		return -1;
	p->parse_only = true;
	p->read_ahead = true;
	p->io_timeout_s = 5;
	return 0;
}

int vb_probe_handshake(struct rr *p, const int32_t *enc, size_t n)
{
	char err[sizeof(p->why)];
	if (p->dead)
		return -1;
	if (rr_handshake(p, NULL, NULL, err, sizeof(err)) != RR_OK) {
		snprintf(p->why, sizeof(p->why), "%s", err);
		p->dead = true;
		return -1;
	}
	if (!rr_start(p, enc, (unsigned)n))
		return rr_fail(p, "send: %s", strerror(errno)), -1;
	return 0;
}

int vb_probe_connect(struct rr *p, int port, const int32_t *enc, size_t n)
{
	return vb_probe_open(p, port) < 0 ? -1 : vb_probe_handshake(p, enc, n);
}

int vb_encodings(const char *name, unsigned quality, int32_t *enc, size_t *n)
{
	/* What noVNC and TigerVNC send, in their order: the pixel encoding first, then the
	 * pseudo-encodings for the cursor shape and position, quality and compression. */
	const int32_t tail[] = {RFB_ENC_RICH_CURSOR, RFB_ENC_POINTER_POS, RFB_ENC_QUALITY((int)quality),
				RFB_ENC_COMPRESS(2)};
	size_t k = 0;
	if (!strcmp(name, "raw")) {
		enc[k++] = RFB_ENC_RAW;
	} else if (!strcmp(name, "tight-jpeg")) {
		enc[k++] = RFB_ENC_TIGHT;
		enc[k++] = RFB_ENC_RAW;
	} else if (!strcmp(name, "zrle")) {
		enc[k++] = RFB_ENC_ZRLE;
		enc[k++] = RFB_ENC_RAW;
	} else if (!strcmp(name, "h264")) {
		enc[k++] = RFB_ENC_OPEN_H264;
		enc[k++] = RFB_ENC_RAW;
	} else {
		return -1;
	}
	memcpy(enc + k, tail, sizeof(tail));
	*n = k + sizeof(tail) / sizeof(tail[0]);
	return 0;
}

static unsigned parse_list(const char *s, char out[][16], unsigned max)
{
	unsigned n = 0;
	while (*s && n < max) {
		size_t len = strcspn(s, ",");
		snprintf(out[n++], 16, "%.*s", (int)len, s);
		s += len;
		s += *s == ',';
	}
	return n;
}

static int usage(void)
{
	fprintf(stderr, "usage: vnc_bench idle|servers|latency|scale|peer --bin PATH [options]\n"
			"       vnc_bench floor --size WxH --fps N --seconds S\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct vb_opts o = {.logdir = ".", .width = 1920, .height = 1080, .fps = 30,
			    .seconds = 10, .settle = 2, .samples = 200, .servers = 16, .quality = 6,
			    .md = stdout, .kv = stdout};
	o.clients[0] = 1, o.clients[1] = 8, o.clients[2] = 32, o.n_clients = 3;
	o.n_scenes = parse_list("video", o.scenes, VB_MAX_LIST);
	o.n_encodings = parse_list("raw,tight-jpeg,h264", o.encodings, VB_MAX_LIST);
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	const struct bench_opt opts[] = {
		{"--bin", BENCH_OPT_STRING, &o.bin},
		{"--peer", BENCH_OPT_STRING, &o.peer},
		{"--logdir", BENCH_OPT_STRING, &o.logdir},
		{"--fps", BENCH_OPT_UNSIGNED, &o.fps},
		{"--seconds", BENCH_OPT_DOUBLE, &o.seconds},
		{"--settle", BENCH_OPT_DOUBLE, &o.settle},
		{"--samples", BENCH_OPT_UNSIGNED, &o.samples},
		{"--servers", BENCH_OPT_UNSIGNED, &o.servers},
		{"--quality", BENCH_OPT_UNSIGNED, &o.quality},
		{"--md", BENCH_OPT_OUTPUT, &o.md},
		{"--kv", BENCH_OPT_OUTPUT, &o.kv},
		{"--tsv", BENCH_OPT_OUTPUT, &o.tsv},
	};
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (bench_opt_set(opts, sizeof(opts) / sizeof(opts[0]), k, v))
			continue;
		if (!strcmp(k, "--size")) {
			if (sscanf(v, "%ux%u", &o.width, &o.height) != 2)
				return usage();
		} else if (!strcmp(k, "--server-arg")) {
			unsigned j = 0;
			while (j < 15 && o.server_args[j])
				j++;
			o.server_args[j] = v;
		}
		else if (!strcmp(k, "--scenes"))
			o.n_scenes = parse_list(v, o.scenes, VB_MAX_LIST);
		else if (!strcmp(k, "--encodings"))
			o.n_encodings = parse_list(v, o.encodings, VB_MAX_LIST);
		else if (!strcmp(k, "--clients")) {
			char tmp[VB_MAX_LIST][16];
			o.n_clients = parse_list(v, tmp, VB_MAX_LIST);
			for (unsigned j = 0; j < o.n_clients; j++)
				o.clients[j] = (unsigned)atoi(tmp[j]);
		} else
			return usage();
	}
	if (!o.tsv)
		o.tsv = bench_open_out("/dev/null");
	if (!strcmp(cmd, "floor"))
		return vb_floor(o.width, o.height, o.fps, o.seconds);
	if (!o.bin)
		return usage();
	int r;
	if (!strcmp(cmd, "idle"))
		r = vb_idle(&o);
	else if (!strcmp(cmd, "servers"))
		r = vb_servers(&o);
	else if (!strcmp(cmd, "latency"))
		r = vb_latency(&o);
	else if (!strcmp(cmd, "scale"))
		r = vb_scale(&o);
	else if (!strcmp(cmd, "peer"))
		r = vb_peer(&o);
	else
		return usage();
	fclose(o.tsv);
	if (o.md != stdout)
		fclose(o.md);
	if (o.kv != stdout)
		fclose(o.kv);
	return r < 0 ? 1 : 0;
}
