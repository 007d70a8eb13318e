/* Error codes and messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "internal.h"

static const struct {
	int		 code;
	const char	*str;
} errtab[] = {
	{ HM_OK,		"success" },
	{ HM_E_INTERNAL,	"internal error" },
	{ HM_E_NOMEM,		"out of memory" },
	{ HM_E_INVALID,		"invalid input" },
	{ HM_E_POLICY,		"refused by policy" },
	{ HM_E_IO,		"I/O error" },
	{ HM_E_EXISTS,		"already exists" },
	{ HM_E_NOTFOUND,	"not found" },
	{ HM_E_PASSPHRASE,	"bad or missing passphrase" },
	{ HM_E_SIGNATURE,	"bad signature" },
	{ HM_E_STORE,		"store error" },
	{ HM_E_TOOBIG,		"input too large" },
	{ HM_E_REFUSED,		"refused" },
};

const char *
hm_strerror(int code)
{
	size_t	i;

	for (i = 0; i < sizeof(errtab) / sizeof(errtab[0]); i++)
		if (errtab[i].code == code)
			return errtab[i].str;
	return "unknown error";
}

static int	vseterr(hm_err *, int, int, const char *, va_list)
		    __attribute__((format(printf, 4, 0)));

static int
vseterr(hm_err *err, int code, int ssl, const char *fmt, va_list ap)
{
	unsigned long	 e;
	char		 reason[128];
	size_t		 n;

	e = ssl ? ERR_peek_last_error() : 0;
	if (err != NULL) {
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		if (e != 0) {
			ERR_error_string_n(e, reason, sizeof(reason));
			n = strlen(err->msg);
			/* The reason is the text after the last ':'. */
			snprintf(err->msg + n, sizeof(err->msg) - n, " (%s)",
			    strrchr(reason, ':') != NULL ?
			    strrchr(reason, ':') + 1 : reason);
		}
	}
	ERR_clear_error();
	return code;
}

int
hm_seterr(hm_err *err, int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	code = vseterr(err, code, 0, fmt, ap);
	va_end(ap);
	return code;
}

int
hm_seterr_ssl(hm_err *err, int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	code = vseterr(err, code, 1, fmt, ap);
	va_end(ap);
	return code;
}
