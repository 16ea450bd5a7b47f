/* EDID 1.4 base block: generate one with a preferred mode, and read the preferred mode. */
#include "vfio_edid.h"

#include <errno.h>
#include <string.h>

void vfio_edid_clamp(uint32_t *width, uint32_t *height, uint32_t max_width,
		     uint32_t max_height)
{
	if (max_width && *width > max_width)
		*width = max_width;
	if (max_height && *height > max_height)
		*height = max_height;
	if (*width > VFIO_EDID_MAX_DIM)
		*width = VFIO_EDID_MAX_DIM;
	if (*height > VFIO_EDID_MAX_DIM)
		*height = VFIO_EDID_MAX_DIM;
	if (*width == 0)
		*width = 1;
	if (*height == 0)
		*height = 1;
}

/* A 10-bit chromaticity coordinate (value * 1024, rounded). */
static void chromaticity(uint8_t *e)
{
	/* sRGB: red 0.64,0.33  green 0.30,0.60  blue 0.15,0.06  white 0.3127,0.3290 */
	const unsigned rx = 655, ry = 338, gx = 307, gy = 614, bx = 154, by = 61, wx = 320,
		       wy = 337;
	e[25] = (uint8_t)((rx & 3) << 6 | (ry & 3) << 4 | (gx & 3) << 2 | (gy & 3));
	e[26] = (uint8_t)((bx & 3) << 6 | (by & 3) << 4 | (wx & 3) << 2 | (wy & 3));
	e[27] = (uint8_t)(rx >> 2);
	e[28] = (uint8_t)(ry >> 2);
	e[29] = (uint8_t)(gx >> 2);
	e[30] = (uint8_t)(gy >> 2);
	e[31] = (uint8_t)(bx >> 2);
	e[32] = (uint8_t)(by >> 2);
	e[33] = (uint8_t)(wx >> 2);
	e[34] = (uint8_t)(wy >> 2);
}

/* The detailed timing: reduced blanking (CVT-RB-like), 60 Hz where the 16-bit pixel clock
 * field allows it, lower refresh for the largest modes. */
static void detailed_timing(uint8_t *d, uint32_t w, uint32_t h)
{
	const uint32_t hblank = 160, hfront = 48, hsync = 32;
	const uint32_t vfront = 3, vsync = 6, vblank = 23 + h / 100;
	uint64_t total = (uint64_t)(w + hblank) * (h + vblank);
	uint64_t clock = (total * 60 + 5000) / 10000; /* 10 kHz units, rounded */
	if (clock > 65535)
		clock = 65535;
	if (clock == 0)
		clock = 1;
	uint32_t wmm = w * 254 / 960, hmm = h * 254 / 960; /* 96 dpi */
	d[0] = (uint8_t)(clock & 0xff);
	d[1] = (uint8_t)(clock >> 8);
	d[2] = (uint8_t)(w & 0xff);
	d[3] = (uint8_t)(hblank & 0xff);
	d[4] = (uint8_t)((w >> 8 & 0xf) << 4 | (hblank >> 8 & 0xf));
	d[5] = (uint8_t)(h & 0xff);
	d[6] = (uint8_t)(vblank & 0xff);
	d[7] = (uint8_t)((h >> 8 & 0xf) << 4 | (vblank >> 8 & 0xf));
	d[8] = (uint8_t)(hfront & 0xff);
	d[9] = (uint8_t)(hsync & 0xff);
	d[10] = (uint8_t)((vfront & 0xf) << 4 | (vsync & 0xf));
	d[11] = (uint8_t)((hfront >> 8 & 3) << 6 | (hsync >> 8 & 3) << 4 | (vfront >> 4 & 3) << 2 |
			  (vsync >> 4 & 3));
	d[12] = (uint8_t)(wmm & 0xff);
	d[13] = (uint8_t)(hmm & 0xff);
	d[14] = (uint8_t)((wmm >> 8 & 0xf) << 4 | (hmm >> 8 & 0xf));
	d[15] = 0;
	d[16] = 0;
	d[17] = 0x1e; /* digital separate sync, +hsync +vsync */
}

static void descriptor_header(uint8_t *d, uint8_t tag)
{
	memset(d, 0, 18);
	d[3] = tag;
}

static void range_limits(uint8_t *d)
{
	descriptor_header(d, 0xfd);
	d[5] = 1;    /* vertical Hz, min */
	d[6] = 120;  /* max */
	d[7] = 1;    /* horizontal kHz, min */
	d[8] = 255;  /* max */
	d[9] = 66;   /* pixel clock, 10 MHz units: 660 MHz >= the 655.35 MHz field limit */
	d[10] = 0x01; /* range limits only */
	d[11] = '\n';
	memset(d + 12, ' ', 6);
}

static void monitor_name(uint8_t *d, const char *name)
{
	descriptor_header(d, 0xfc);
	memset(d + 5, ' ', 13);
	size_t n = strlen(name);
	if (n > 12)
		n = 12;
	memcpy(d + 5, name, n);
	d[5 + n] = '\n';
}

int vfio_edid_checksum_ok(const uint8_t *block)
{
	unsigned sum = 0;
	for (unsigned i = 0; i < VFIO_EDID_BLOCK; i++)
		sum += block[i];
	return (sum & 0xff) == 0;
}

int vfio_edid_generate(uint8_t *e, uint32_t width, uint32_t height)
{
	if (width == 0 || height == 0 || width > VFIO_EDID_MAX_DIM || height > VFIO_EDID_MAX_DIM)
		return -EINVAL;
	memset(e, 0, VFIO_EDID_BLOCK);
	static const uint8_t header[8] = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
	memcpy(e, header, sizeof(header));
	/* vendor "VGV": three 5-bit letters, big endian */
	uint16_t vendor = (uint16_t)(('V' - '@') << 10 | ('G' - '@') << 5 | ('V' - '@'));
	e[8] = (uint8_t)(vendor >> 8);
	e[9] = (uint8_t)(vendor & 0xff);
	e[10] = 0x01; /* product code 1, little endian */
	e[16] = 1;    /* week 1 */
	e[17] = 34;   /* 2024 */
	e[18] = 1;    /* EDID 1.4 */
	e[19] = 4;
	e[20] = 0xa5; /* digital, 8 bits a colour, DisplayPort */
	uint32_t wcm = width * 254 / 9600, hcm = height * 254 / 9600;
	e[21] = (uint8_t)(wcm ? (wcm > 255 ? 255 : wcm) : 1);
	e[22] = (uint8_t)(hcm ? (hcm > 255 ? 255 : hcm) : 1);
	e[23] = 120;  /* gamma 2.2 */
	e[24] = 0x06; /* sRGB default, preferred timing is native */
	chromaticity(e);
	/* established timings that fit */
	if (width >= 640 && height >= 480)
		e[35] |= 1 << 5;
	if (width >= 800 && height >= 600)
		e[35] |= 1 << 0;
	if (width >= 1024 && height >= 768)
		e[36] |= 1 << 3;
	for (int i = 38; i < 54; i++)
		e[i] = 0x01; /* standard timings: unused */
	detailed_timing(e + 54, width, height);
	range_limits(e + 72);
	monitor_name(e + 90, "vgpu-vnc");
	descriptor_header(e + 108, 0x10); /* dummy */
	e[126] = 0; /* no extension blocks */
	unsigned sum = 0;
	for (unsigned i = 0; i < VFIO_EDID_BLOCK - 1; i++)
		sum += e[i];
	e[127] = (uint8_t)(0x100 - (sum & 0xff));
	return 0;
}

int vfio_edid_preferred_mode(const uint8_t *e, size_t len, uint32_t *width, uint32_t *height)
{
	static const uint8_t header[8] = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
	if (len < VFIO_EDID_BLOCK || memcmp(e, header, sizeof(header)) != 0 ||
	    !vfio_edid_checksum_ok(e))
		return -EINVAL;
	const uint8_t *d = e + 54;
	if (d[0] == 0 && d[1] == 0)
		return -EINVAL; /* a display descriptor, not a timing */
	*width = d[2] | (uint32_t)(d[4] >> 4) << 8;
	*height = d[5] | (uint32_t)(d[7] >> 4) << 8;
	return *width && *height ? 0 : -EINVAL;
}
