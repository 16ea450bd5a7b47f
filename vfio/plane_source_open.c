/* Opens a plane source from its spec: the only place that knows every back end. */
#include "plane_source_open.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dbus_source.h"
#include "synthetic.h"
#include "vfio_device.h"
#include "vfio_pid.h"

int plane_source_open(const char *spec, struct plane_source **out, char *err, size_t err_len)
{
	*out = NULL;
	if (strcmp(spec, "synthetic") == 0)
		return synthetic_source_create("", out, err, err_len);
	if (strncmp(spec, "synthetic:", 10) == 0)
		return synthetic_source_create(spec + 10, out, err, err_len);
	if (strncmp(spec, "pid:", 4) == 0)
		return vfio_pid_source_open(spec + 4, out, err, err_len);
	if (strcmp(spec, "dbus") == 0)
		return dbus_source_open("dbus", "", out, err, err_len);
	if (strncmp(spec, "dbus:", 5) == 0)
		return dbus_source_open("dbus", spec + 5, out, err, err_len);
	if (strncmp(spec, "qmp-dbus:", 9) == 0)
		return dbus_source_open("qmp-dbus", spec + 9, out, err, err_len);
	static const char *const real[] = {"mdev", "sysfs", "fd", "socket"};
	for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		size_t n = strlen(real[i]);
		if (strncmp(spec, real[i], n) == 0 && spec[n] == ':')
			return vfio_source_open(real[i], spec + n + 1, out, err, err_len);
	}
	snprintf(err, err_len,
		 "source '%s': unknown kind (expected synthetic[:WxH[:SCENE]], mdev:UUID, "
		 "sysfs:PATH, fd:N, socket:PATH, pid:PID, dbus[:ADDRESS] or qmp-dbus:PATH)",
		 spec);
	return -EINVAL;
}
