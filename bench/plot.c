/* plot: a line chart as a PNG, with no dependency beyond what the server already links
 * (zlib for the PNG, the synthetic vGPU's 8x8 font for the text).
 *
 *   plot --out FILE.png --title T --xlabel X --ylabel Y [--logx] [--logy]
 *        [--legend-bottom] < DATA.tsv
 *
 * DATA: one point a line, "series<TAB>x<TAB>y"; the series are drawn in the order they
 * first appear, each a line through its points in x order, with a legend (top right, or
 * bottom right with --legend-bottom: where a CDF's curves are not). Why not
 * gnuplot or matplotlib: one more package (and its fonts) on every machine that runs
 * bench/run, for three charts.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "synthetic_font.h"

#define W 880
#define H 520
#define LEFT 84
#define RIGHT 24
#define TOP 44
#define BOTTOM 64
#define MAX_SERIES 12
#define MAX_POINTS 4096

struct series {
	char name[64];
	double x[MAX_POINTS], y[MAX_POINTS];
	unsigned n;
};

static uint8_t img[H][W][3];
static struct series ser[MAX_SERIES];
static unsigned n_ser;
static bool logx, logy, legend_bottom;
static double xmin, xmax, ymin, ymax;

static const uint8_t palette[MAX_SERIES][3] = {
	{31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {255, 127, 14}, {148, 103, 189},
	{140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
	{0, 0, 0},      {100, 100, 255},
};

static void put(int x, int y, const uint8_t c[3])
{
	if (x >= 0 && y >= 0 && x < W && y < H)
		memcpy(img[y][x], c, 3);
}

static void rect(int x, int y, int w, int h, const uint8_t c[3])
{
	for (int j = y; j < y + h; j++)
		for (int i = x; i < x + w; i++)
			put(i, j, c);
}

static void line(int xa, int ya, int xb, int yb, const uint8_t c[3], int thick)
{
	int dx = abs(xb - xa), dy = -abs(yb - ya), sx = xa < xb ? 1 : -1, sy = ya < yb ? 1 : -1;
	int err = dx + dy;
	for (;;) {
		rect(xa - thick / 2, ya - thick / 2, thick, thick, c);
		if (xa == xb && ya == yb)
			break;
		int e2 = 2 * err;
		if (e2 >= dy)
			err += dy, xa += sx;
		if (e2 <= dx)
			err += dx, ya += sy;
	}
}

/* Text at scale s; vertical: rotated 90 degrees counter-clockwise, (x, y) its bottom. */
static void text(int x, int y, const char *s, int scale, bool vertical, const uint8_t c[3])
{
	for (int k = 0; s[k]; k++) {
		const uint8_t *g = synthetic_font_glyph((unsigned char)s[k]);
		for (int gy = 0; gy < SYNTHETIC_FONT_H; gy++)
			for (int gx = 0; gx < SYNTHETIC_FONT_W; gx++) {
				if (!(g[gy] >> gx & 1))
					continue;
				int px = k * SYNTHETIC_FONT_W + gx;
				if (vertical)
					rect(x + gy * scale, y - (px + 1) * scale, scale, scale, c);
				else
					rect(x + px * scale, y + gy * scale, scale, scale, c);
			}
	}
}

static double tx(double v)
{
	return logx ? log10(v) : v;
}

static double ty(double v)
{
	return logy ? log10(v) : v;
}

static int px_x(double v)
{
	return LEFT + (int)lround((tx(v) - xmin) / (xmax - xmin) * (W - LEFT - RIGHT));
}

static int px_y(double v)
{
	return H - BOTTOM - (int)lround((ty(v) - ymin) / (ymax - ymin) * (H - TOP - BOTTOM));
}

/* A 1-2-5 step giving about n intervals over span. */
static double nice_step(double span, int n)
{
	double raw = span / n, p = pow(10, floor(log10(raw))), m = raw / p;
	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void axes(const char *xlabel, const char *ylabel)
{
	static const uint8_t grey[3] = {220, 220, 220}, black[3] = {0, 0, 0};
	char buf[32];
	/* y grid and labels */
	if (logy) {
		for (double d = floor(ymin); d <= ymax + 1e-9; d++) {
			int y = px_y(pow(10, d));
			line(LEFT, y, W - RIGHT, y, grey, 1);
			snprintf(buf, sizeof(buf), "%g", pow(10, d));
			text(LEFT - 8 - 8 * (int)strlen(buf), y - 4, buf, 1, false, black);
		}
	} else {
		double step = nice_step(ymax - ymin, 6);
		for (double v = ceil(ymin / step) * step; v <= ymax + step * 1e-6; v += step) {
			int y = px_y(v);
			line(LEFT, y, W - RIGHT, y, grey, 1);
			snprintf(buf, sizeof(buf), "%g", fabs(v) < step * 1e-6 ? 0 : v);
			text(LEFT - 8 - 8 * (int)strlen(buf), y - 4, buf, 1, false, black);
		}
	}
	/* x ticks: the points' own x values when few (sizes, client counts), else a grid */
	double xs[64];
	unsigned nx = 0;
	for (unsigned s = 0; s < n_ser && nx < 64; s++)
		for (unsigned i = 0; i < ser[s].n && nx < 64; i++) {
			bool seen = false;
			for (unsigned j = 0; j < nx; j++)
				seen |= xs[j] == ser[s].x[i];
			if (!seen)
				xs[nx++] = ser[s].x[i];
		}
	if (nx > 8) {
		double step = nice_step(xmax - xmin, 8);
		nx = 0;
		for (double v = ceil(xmin / step) * step; v <= xmax + step * 1e-6 && nx < 64; v += step)
			xs[nx++] = logx ? pow(10, v) : v;
	}
	for (unsigned i = 0; i < nx; i++) {
		int x = px_x(xs[i]);
		line(x, TOP, x, H - BOTTOM, grey, 1);
		snprintf(buf, sizeof(buf), "%g", fabs(xs[i]) < 1e-9 ? 0 : xs[i]);
		text(x - 4 * (int)strlen(buf), H - BOTTOM + 8, buf, 1, false, black);
	}
	line(LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM, black, 1);
	line(LEFT, TOP, LEFT, H - BOTTOM, black, 1);
	text((W + LEFT - RIGHT) / 2 - 8 * (int)strlen(xlabel), H - 28, xlabel, 2, false, black);
	text(10, (H + TOP - BOTTOM) / 2 + 8 * (int)strlen(ylabel), ylabel, 2, true, black);
}

static void read_data(void)
{
	char buf[512];
	while (fgets(buf, sizeof(buf), stdin)) {
		char name[64];
		double x, y;
		if (sscanf(buf, "%63[^\t]\t%lf\t%lf", name, &x, &y) != 3 || (logx && x <= 0) ||
		    (logy && y <= 0))
			continue;
		unsigned s = 0;
		while (s < n_ser && strcmp(ser[s].name, name))
			s++;
		if (s == n_ser) {
			if (n_ser == MAX_SERIES)
				continue;
			snprintf(ser[n_ser++].name, sizeof(ser[0].name), "%s", name);
		}
		if (ser[s].n < MAX_POINTS) {
			ser[s].x[ser[s].n] = x;
			ser[s].y[ser[s].n++] = y;
		}
	}
}

static void sort_series(struct series *s)
{
	for (unsigned i = 1; i < s->n; i++)
		for (unsigned j = i; j > 0 && s->x[j] < s->x[j - 1]; j--) {
			double t = s->x[j];
			s->x[j] = s->x[j - 1], s->x[j - 1] = t;
			t = s->y[j];
			s->y[j] = s->y[j - 1], s->y[j - 1] = t;
		}
}

static void ranges(void)
{
	xmin = ymin = INFINITY;
	xmax = ymax = -INFINITY;
	for (unsigned s = 0; s < n_ser; s++)
		for (unsigned i = 0; i < ser[s].n; i++) {
			xmin = fmin(xmin, tx(ser[s].x[i]));
			xmax = fmax(xmax, tx(ser[s].x[i]));
			ymin = fmin(ymin, ty(ser[s].y[i]));
			ymax = fmax(ymax, ty(ser[s].y[i]));
		}
	if (logy) {
		ymin = floor(ymin);
		ymax = ceil(ymax);
	} else {
		ymin = ymin > 0 ? 0 : ymin; /* linear charts start at zero: ratios stay visible */
		ymax = ymax + (ymax - ymin) * 0.08;
	}
	double pad = (xmax - xmin) * 0.04;
	xmin -= pad;
	xmax += pad;
	if (xmax <= xmin) {
		xmin -= 1;
		xmax += 1;
	}
	if (ymax <= ymin)
		ymax = ymin + 1;
}

static int write_png(const char *path)
{
	size_t raw_len = (size_t)H * (W * 3 + 1);
	uint8_t *raw = malloc(raw_len);
	uLongf z_len = compressBound((uLong)raw_len);
	uint8_t *z = malloc(z_len);
	if (!raw || !z)
		return -1;
	for (int y = 0; y < H; y++) {
		raw[(size_t)y * (W * 3 + 1)] = 0; /* filter: none */
		memcpy(raw + (size_t)y * (W * 3 + 1) + 1, img[y], W * 3);
	}
	if (compress2(z, &z_len, raw, (uLong)raw_len, 9) != Z_OK)
		return -1;
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	fwrite(sig, 1, 8, f);
	uint8_t ihdr[13] = {W >> 24, (W >> 16) & 0xff, (W >> 8) & 0xff, W & 0xff,
			    H >> 24, (H >> 16) & 0xff, (H >> 8) & 0xff, H & 0xff, 8, 2, 0, 0, 0};
	const struct {
		const char *type;
		const uint8_t *data;
		uint32_t len;
	} chunks[] = {{"IHDR", ihdr, 13}, {"IDAT", z, (uint32_t)z_len}, {"IEND", NULL, 0}};
	for (size_t i = 0; i < 3; i++) {
		uint8_t be[4] = {(uint8_t)(chunks[i].len >> 24), (uint8_t)(chunks[i].len >> 16),
				 (uint8_t)(chunks[i].len >> 8), (uint8_t)chunks[i].len};
		fwrite(be, 1, 4, f);
		fwrite(chunks[i].type, 1, 4, f);
		if (chunks[i].len)
			fwrite(chunks[i].data, 1, chunks[i].len, f);
		uLong crc = crc32(0, (const Bytef *)chunks[i].type, 4);
		if (chunks[i].len)
			crc = crc32(crc, chunks[i].data, chunks[i].len);
		uint8_t c[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
				(uint8_t)crc};
		fwrite(c, 1, 4, f);
	}
	free(raw);
	free(z);
	return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *out = NULL, *title = "", *xlabel = "", *ylabel = "";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--logx"))
			logx = true;
		else if (!strcmp(argv[i], "--logy"))
			logy = true;
		else if (!strcmp(argv[i], "--legend-bottom"))
			legend_bottom = true;
		else if (i + 1 < argc && !strcmp(argv[i], "--out"))
			out = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--title"))
			title = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--xlabel"))
			xlabel = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--ylabel"))
			ylabel = argv[++i];
	}
	if (!out) {
		fprintf(stderr, "usage: plot --out FILE.png [--title T] [--xlabel X] [--ylabel Y] "
				"[--logx] [--logy] [--legend-bottom] < series<TAB>x<TAB>y\n");
		return 2;
	}
	read_data();
	if (!n_ser) {
		fprintf(stderr, "plot: no data for %s\n", out);
		return 1;
	}
	memset(img, 255, sizeof(img));
	for (unsigned s = 0; s < n_ser; s++)
		sort_series(&ser[s]);
	ranges();
	axes(xlabel, ylabel);
	static const uint8_t black[3] = {0, 0, 0};
	text((W - 16 * (int)strlen(title)) / 2, 10, title, 2, false, black);
	/* the legend goes top right, inside the plot */
	int legend_w = 0;
	for (unsigned s = 0; s < n_ser; s++)
		legend_w = (int)strlen(ser[s].name) > legend_w ? (int)strlen(ser[s].name) : legend_w;
	int lx = W - RIGHT - 40 - legend_w * SYNTHETIC_FONT_W;
	for (unsigned s = 0; s < n_ser; s++) {
		const struct series *p = &ser[s];
		for (unsigned i = 0; i < p->n; i++) {
			int x = px_x(p->x[i]), y = px_y(p->y[i]);
			if (i)
				line(px_x(p->x[i - 1]), px_y(p->y[i - 1]), x, y, palette[s], 2);
			if (p->n <= 16)
				rect(x - 3, y - 3, 7, 7, palette[s]);
		}
		int ly = legend_bottom ? H - BOTTOM - 8 - (int)(n_ser - s) * 14 : TOP + 8 + (int)s * 14;
		rect(lx, ly + 1, 18, 6, palette[s]);
		text(lx + 24, ly, p->name, 1, false, black);
	}
	return write_png(out) == 0 ? 0 : 1;
}
