/* A client's extension records, taken apart. See rfb_extension.h. */
#include "rfb_extension.h"

#include <stdlib.h>

bool rfb_extension_take(rfbClientPtr cl, const rfbProtocolExtension *ext, void **data)
{
	for (rfbExtensionData **link = &cl->extensions; *link; link = &(*link)->next) {
		rfbExtensionData *e = *link;
		if (e->extension == ext) {
			*link = e->next;
			*data = e->data;
			free(e);
			return true;
		}
	}
	return false;
}
