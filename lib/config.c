/* The hierarchy file: see config.h.  (Being written.) */
#include "config.h"

int
hm_cfg_load(const char *path, struct hm_cfg **out, hm_err *err)
{
	(void)path;
	(void)out;
	return hm_seterr(err, HM_E_INTERNAL, "not yet");
}

int
hm_cfg_parse(const char *buf, size_t len, const char *name, const char *dir,
    struct hm_cfg **out, hm_err *err)
{
	(void)buf;
	(void)len;
	(void)name;
	(void)dir;
	(void)out;
	return hm_seterr(err, HM_E_INTERNAL, "not yet");
}

void
hm_cfg_free(struct hm_cfg *c)
{
	(void)c;
}

struct hm_cfg_ca *
hm_cfg_ca_find(struct hm_cfg *c, const char *name)
{
	(void)c;
	(void)name;
	return NULL;
}
