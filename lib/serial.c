/* Serial numbers: random, positive, fixed length. */
#include <openssl/rand.h>

#include "internal.h"

/*
 * HM_SERIAL_LEN bytes from the CSPRNG with the top two bits forced to 01:
 * always positive, never shortened by DER, 8 * HM_SERIAL_LEN - 2 = 134
 * random bits, within RFC 5280's 20 octets.
 */
int
hm_serial_random(unsigned char out[HM_SERIAL_LEN], hm_err *err)
{
	if (RAND_bytes(out, HM_SERIAL_LEN) != 1)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "random serial");
	out[0] = (unsigned char)((out[0] & 0x3f) | 0x40);
	return HM_OK;
}
