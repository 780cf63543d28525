/* test_sha256.c — SHA-256 against the FIPS 180-4 / NIST example vectors, and split updates. */
#include <stdlib.h>

#include "sha256.h"
#include "unit_test.h"

static void hex_of(const void *data, size_t n, char out[65]) {
  ec_sha256 s;
  uint8_t d[32];
  ec_sha256_init(&s);
  ec_sha256_update(&s, data, n);
  ec_sha256_final(&s, d);
  ec_sha256_hex(d, out);
}

static void vectors(void **state) {
  char h[65];
  hex_of("", 0, h);
  assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  hex_of("abc", 3, h);
  assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  hex_of(m448, strlen(m448), h);
  assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const char *m896 =
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrl"
      "mnopqrsmnopqrstnopqrstu";
  hex_of(m896, strlen(m896), h);
  assert_string_equal(h, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void million_a_in_pieces(void **state) {
  ec_sha256 s;
  uint8_t d[32];
  char h[65];
  char chunk[997]; /* a size that does not divide 64, so blocks straddle updates */
  memset(chunk, 'a', sizeof chunk);
  ec_sha256_init(&s);
  size_t left = 1000000;
  while (left) {
    size_t n = left < sizeof chunk ? left : sizeof chunk;
    ec_sha256_update(&s, chunk, n);
    left -= n;
  }
  ec_sha256_final(&s, d);
  ec_sha256_hex(d, h);
  assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths around the 55/56/64-byte padding boundaries: one update equals byte-by-byte. */
static void boundaries(void **state) {
  uint8_t msg[130];
  for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 7 + 1);
  for (size_t n = 50; n <= sizeof msg; n++) {
    char h1[65], h2[65];
    hex_of(msg, n, h1);
    ec_sha256 s;
    uint8_t d[32];
    ec_sha256_init(&s);
    for (size_t i = 0; i < n; i++) ec_sha256_update(&s, msg + i, 1);
    ec_sha256_final(&s, d);
    ec_sha256_hex(d, h2);
    if (strcmp(h1, h2) != 0) fail_msg("length %zu: one update gives %s, bytewise %s", n, h1, h2);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vectors),
      cmocka_unit_test(million_a_in_pieces),
      cmocka_unit_test(boundaries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
