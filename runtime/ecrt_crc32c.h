/* ecrt_crc32c.h — CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slicing by 8: the
 * checksum of the weights files and of the wire format, also used by the compiler. C99. */
#ifndef ECRT_CRC32C_H
#define ECRT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over n bytes (start with 0); ecrt_crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t ecrt_crc32c(uint32_t crc, const void *data, size_t n);

#endif
