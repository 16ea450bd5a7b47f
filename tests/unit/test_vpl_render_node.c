/* render_node.h: the render node of an mdev's parent GPU, found in a fake sysfs tree made
 * under a temp dir; the scan as the fallback when the source names no device or the
 * tree does not lead to one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render_node.h"

#define UUID "4b0ab4b2-3c1e-4e29-9f5b-0d6b8a5f1c01"

static char root[PATH_MAX];

static void mkdirs(const char *rel)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

static void link_at(const char *target, const char *rel)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(symlink(target, p), 0);
}

/* Two Intel GPUs, each with its render node; the mdev under the second. */
static int make_tree(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/vgpu-rn-XXXXXX");
	assert_non_null(mkdtemp(root));
	mkdirs("devices/pci0000:00/0000:00:02.0/drm/card0");
	mkdirs("devices/pci0000:00/0000:00:02.0/drm/renderD128");
	mkdirs("devices/pci0000:00/0000:03:00.0/drm/card1");
	mkdirs("devices/pci0000:00/0000:03:00.0/drm/renderD129");
	mkdirs("devices/pci0000:00/0000:03:00.0/" UUID);
	mkdirs("bus/mdev/devices");
	link_at("../../../devices/pci0000:00/0000:03:00.0/" UUID, "bus/mdev/devices/" UUID);
	return 0;
}

static int drop_tree(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_mdev_parent_node_chosen(void **state)
{
	(void)state;
	char node[64], parent[64], why[512] = "", spec[PATH_MAX * 3];
	char dev[PATH_MAX * 2];
	snprintf(dev, sizeof(dev), "%s/bus/mdev/devices/" UUID, root);
	assert_int_equal(render_node_of_mdev(dev, node, sizeof(node), parent, sizeof(parent), why,
					     sizeof(why)), 0);
	assert_string_equal(node, "/dev/dri/renderD129");
	assert_string_equal(parent, "0000:03:00.0");

	struct render_node_choice c;
	render_node_choose(root, "mdev:" UUID, &c);
	assert_string_equal(c.node, "/dev/dri/renderD129");
	assert_string_equal(c.reason, "render node /dev/dri/renderD129: the mdev's parent 0000:03:00.0");
	assert_int_equal(c.warn, 0);
	/* The same device by sysfs path, and by --device for pid:. */
	snprintf(spec, sizeof(spec), "sysfs:%s", dev);
	render_node_choose(root, spec, &c);
	assert_string_equal(c.node, "/dev/dri/renderD129");
	snprintf(spec, sizeof(spec), "pid:1234:%s", dev);
	render_node_choose(root, spec, &c);
	assert_string_equal(c.node, "/dev/dri/renderD129");

	/* The process-wide choice both users read. */
	render_node_set(c.node);
	assert_string_equal(render_node_chosen(), "/dev/dri/renderD129");
	render_node_set(NULL);
	assert_null(render_node_chosen());
}

static void test_no_parent_device_falls_back(void **state)
{
	(void)state;
	static const char *const specs[] = {"synthetic:1280x720:desktop", "fd:3",
					    "socket:/run/vgpu.sock", "pid:1234", "pid:1234:"};
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct render_node_choice c;
		render_node_choose(root, specs[i], &c);
		assert_string_equal(c.node, "");
		assert_int_equal(c.warn, 0);
		assert_string_equal(c.reason,
				    "first Intel render node, the source names no parent device");
	}
}

static void test_broken_tree_says_why_and_falls_back(void **state)
{
	(void)state;
	char node[64] = "", parent[64], why[512] = "";
	struct render_node_choice c;

	/* A dangling link: the mdev is gone. */
	link_at("../../../devices/pci0000:00/0000:00:02.0/gone", "bus/mdev/devices/dangling");
	render_node_choose(root, "mdev:dangling", &c);
	assert_string_equal(c.node, "");
	assert_int_equal(c.warn, 1);
	assert_non_null(strstr(c.reason, "first Intel render node, no parent GPU found: "));
	assert_non_null(strstr(c.reason, "bus/mdev/devices/dangling does not resolve"));

	/* A parent without drm/ (mbochs' is a virtual device). */
	mkdirs("devices/virtual/mbochs/mbochs/" UUID "-b");
	link_at("../../../devices/virtual/mbochs/mbochs/" UUID "-b",
		"bus/mdev/devices/" UUID "-b");
	char dev[PATH_MAX * 2];
	snprintf(dev, sizeof(dev), "%s/bus/mdev/devices/" UUID "-b", root);
	assert_int_equal(render_node_of_mdev(dev, node, sizeof(node), parent, sizeof(parent), why,
					     sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "the mdev's parent mbochs has no DRM nodes"));
	render_node_choose(root, "mdev:" UUID "-b", &c);
	assert_string_equal(c.node, "");
	assert_int_equal(c.warn, 1);
	assert_non_null(strstr(c.reason, "has no DRM nodes"));

	/* drm/ with a card but no render node. */
	mkdirs("devices/pci0000:00/0000:04:00.0/drm/card2");
	mkdirs("devices/pci0000:00/0000:04:00.0/" UUID "-c");
	link_at("../../../devices/pci0000:00/0000:04:00.0/" UUID "-c",
		"bus/mdev/devices/" UUID "-c");
	render_node_choose(root, "mdev:" UUID "-c", &c);
	assert_string_equal(c.node, "");
	assert_int_equal(c.warn, 1);
	assert_non_null(strstr(c.reason, "the mdev's parent 0000:04:00.0 has no render node"));

	/* No such mdev at all. */
	render_node_choose(root, "mdev:nope", &c);
	assert_string_equal(c.node, "");
	assert_int_equal(c.warn, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mdev_parent_node_chosen),
		cmocka_unit_test(test_no_parent_device_falls_back),
		cmocka_unit_test(test_broken_tree_says_why_and_falls_back),
	};
	return cmocka_run_group_tests(tests, make_tree, drop_tree);
}
