/* The inventory store: one interface, a backend a file. */
#include <string.h>

#include "internal.h"

/*
 * uri: "sqlite:PATH" or a plain path for the embedded default;
 * "postgresql://..." is reserved for the PostgreSQL backend.
 */
int
hm_store_open(const char *uri, int create, hm_store **out, hm_err *err)
{
	if (strncmp(uri, "sqlite:", 7) == 0)
		return hm_store_sqlite_open(uri + 7, create, out, err);
	if (strncmp(uri, "postgresql:", 11) == 0 ||
	    strncmp(uri, "postgres:", 9) == 0)
		return hm_seterr(err, HM_E_INVALID, "this build has no "
		    "PostgreSQL store");
	return hm_store_sqlite_open(uri, create, out, err);
}

void
hm_store_close(hm_store *s)
{
	if (s != NULL)
		s->ops->close(s);
}
