/* lib/serial.c: random, positive, fixed-length serial numbers. */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>

#include "testutil.h"

#define N_SERIALS	1000

static int
cmp_serial(const void *a, const void *b)
{
	return memcmp(a, b, HM_SERIAL_LEN);
}

static unsigned char	serials[N_SERIALS][HM_SERIAL_LEN];

static void
draw_all(void)
{
	hm_err	err = { 0, "" };
	size_t	i;

	for (i = 0; i < N_SERIALS; i++)
		HM_CHECK(hm_serial_random(serials[i], &err), &err);
}

static void
test_length_fits_rfc5280(void **state)
{
	(void)state;
	/* RFC 5280: at most 20 octets; DESIGN.md: at least 128 random bits. */
	assert_true(HM_SERIAL_LEN <= 20);
	assert_true(8 * HM_SERIAL_LEN - 2 >= 128);
}

static void
test_distinct(void **state)
{
	static unsigned char	sorted[N_SERIALS][HM_SERIAL_LEN];
	size_t			i;

	(void)state;
	draw_all();
	memcpy(sorted, serials, sizeof(sorted));
	qsort(sorted, N_SERIALS, HM_SERIAL_LEN, cmp_serial);
	for (i = 1; i < N_SERIALS; i++)
		if (memcmp(sorted[i - 1], sorted[i], HM_SERIAL_LEN) == 0)
			fail_msg("serial repeated among %d draws", N_SERIALS);
}

/*
 * Top two bits 01: positive (no sign byte needed) and never shortened
 * (no leading zero byte to strip), so DER holds exactly HM_SERIAL_LEN.
 */
static void
test_positive_full_length(void **state)
{
	size_t	i;

	(void)state;
	draw_all();
	for (i = 0; i < N_SERIALS; i++) {
		BIGNUM		*bn;
		ASN1_INTEGER	*ai;
		unsigned char	*der = NULL;
		int		 derlen;

		if ((serials[i][0] & 0xc0) != 0x40)
			fail_msg("serial %zu starts with 0x%02x", i,
			    serials[i][0]);
		bn = BN_bin2bn(serials[i], HM_SERIAL_LEN, NULL);
		assert_non_null(bn);
		assert_int_equal(BN_num_bytes(bn), HM_SERIAL_LEN);
		assert_int_equal(BN_num_bits(bn), 8 * HM_SERIAL_LEN - 1);
		ai = BN_to_ASN1_INTEGER(bn, NULL);
		assert_non_null(ai);
		derlen = i2d_ASN1_INTEGER(ai, &der);
		/* tag, length, then exactly the serial's bytes */
		assert_int_equal(derlen, 2 + HM_SERIAL_LEN);
		assert_memory_equal(der + 2, serials[i], HM_SERIAL_LEN);
		OPENSSL_free(der);
		ASN1_INTEGER_free(ai);
		BN_free(bn);
	}
}

static void
test_entropy(void **state)
{
	int	seen[64] = { 0 }, distinct = 0, ones;
	size_t	i, bit;

	(void)state;
	draw_all();
	for (i = 0; i < N_SERIALS; i++)
		seen[serials[i][0] & 0x3f] = 1;
	for (i = 0; i < 64; i++)
		distinct += seen[i];
	if (distinct < 30)
		fail_msg("first byte took only %d of 64 values", distinct);
	/*
	 * Every one of the 8 * HM_SERIAL_LEN - 2 random bits must vary: a
	 * fair bit is set 500 +- 16 times in 1000 draws, so 350..650 is
	 * about nine standard deviations wide and never trips by chance.
	 */
	for (bit = 2; bit < 8 * HM_SERIAL_LEN; bit++) {
		ones = 0;
		for (i = 0; i < N_SERIALS; i++)
			ones += (serials[i][bit / 8] >> (7 - bit % 8)) & 1;
		if (ones < 350 || ones > 650)
			fail_msg("bit %zu was set %d times in %d draws", bit,
			    ones, N_SERIALS);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length_fits_rfc5280),
		cmocka_unit_test(test_distinct),
		cmocka_unit_test(test_positive_full_length),
		cmocka_unit_test(test_entropy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
