/*
 * What every backend of the db interface shares: helpers written on top of db_query and
 * db_step, so a second backend implements only the primitives.
 */
#include "store/db.h"

int db_one(struct db_stmt *st, db_row_fn *fn, void *ret)
{
	int r = db_step(st);   /* a NULL st steps to -EIO */

	if (r > 0) {
		fn(st, ret);
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}
