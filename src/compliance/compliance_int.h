/* Shared inside src/compliance/ only. */
#ifndef KURA_COMPLIANCE_COMPLIANCE_INT_H
#define KURA_COMPLIANCE_COMPLIANCE_INT_H
#include "core/core.h"

struct config;

/* The configuration kura serve installed (secrets wiped), or NULL. */
const struct config *compliance_config(void);
/* {letter, ja, en} per group of rows, ending with a NULL row. */
extern const char *const compliance_groups[][3];
size_t compliance_n_controls(void);
#endif
