/*
 * Shared inside src/notify: sealing mail bodies while they wait in the outbox (outbox.c
 * seals, mailer.c opens). Format: nonce (24) || XChaCha20-Poly1305 ciphertext || tag (16),
 * associated data "kura mail body" || message id, under the outbox key.
 */
#ifndef KURA_NOTIFY_NOTIFY_INT_H
#define KURA_NOTIFY_NOTIFY_INT_H
#include "notify/notify.h"

/* Seals body (n bytes) for the mail msgid into *ret (malloc'd, *ret_n bytes). */
int outbox_seal(const char *msgid, const char *body, size_t n, unsigned char **ret, size_t *ret_n) KURA_WUR;
/* Opens a sealed body into *ret (malloc'd, NUL-terminated; wipe before free: it holds links).
 * -EBADMSG when it does not open (another key, or altered). */
int outbox_open(const char *msgid, const unsigned char *sealed, size_t n, char **ret) KURA_WUR;
#endif
