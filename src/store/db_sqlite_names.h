/*
 * Included by db_sqlite.c alone, after store/db.h: its definitions of the db.h calls become
 * the SQLite backend's primitives (db_int.h), which db.c dispatches to. The file itself keeps
 * the public names, so it reads as before.
 */
#ifndef KURA_STORE_DB_SQLITE_NAMES_H
#define KURA_STORE_DB_SQLITE_NAMES_H
#include "store/db_int.h"

#define db_open sqlite_db_open
#define db_close sqlite_db_close
#define db_set_path sqlite_db_set_path
#define db_thread sqlite_db_thread
#define db_backup sqlite_db_backup
#define db_integrity_check sqlite_db_integrity_check
#define db_migrate sqlite_db_migrate
#define db_begin sqlite_db_begin
#define db_commit sqlite_db_commit
#define db_commit_relaxed sqlite_db_commit_relaxed
#define db_relaxed_owed sqlite_db_relaxed_owed
#define db_rollback sqlite_db_rollback
#define db_combined sqlite_db_combined
#define db_in_transaction sqlite_db_in_transaction
#define db_read_begin sqlite_db_read_begin
#define db_read_end sqlite_db_read_end
#define db_lock_tenant sqlite_db_lock_tenant
#define vquery sqlite_vquery
#define db_query sqlite_db_query
#define db_exec sqlite_db_exec
#define db_step sqlite_db_step
#define db_done sqlite_db_done
#define db_int sqlite_db_int
#define db_text sqlite_db_text
#define db_blob sqlite_db_blob
#define db_is_null sqlite_db_is_null
#define db_name_index sqlite_db_name_index
#define db_name_fold sqlite_db_name_fold
#define db_name_unindex_subtree sqlite_db_name_unindex_subtree
#define db_name_unindex_leaves sqlite_db_name_unindex_leaves
#define db_checkpoint_truncate sqlite_db_checkpoint_truncate
#define db_name_search sqlite_db_name_search
#define db_changes sqlite_db_changes
#define db_errmsg sqlite_db_errmsg
#define db_version sqlite_db_version
#define db_trace sqlite_db_trace
#endif
