/* kura command-line entry point: dispatches to the subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/core.h"

static const char usage[] =
	"kura " KURA_VERSION " — multi-tenant secure file exchange (ISO/IEC 27017 controls)\n\n"
	"usage:\n"
	"  kura init --data DIR [--demo]          create a data directory (and a demo tenant)\n"
	"  kura serve --data DIR [--listen ADDR:PORT] [--no-tls]\n"
	"                                         serve HTTPS and the management socket\n"
	"  kura admin --data DIR COMMAND …        operator commands (kura admin --help)\n"
	"  kura audit verify FILE --key PUBKEY    check an audit export offline\n"
	"  kura backup --data DIR --to DEST [--include-keys] [--keep-days N]\n"
	"                                         consistent, incremental backup (while serving);\n"
	"                                         --keep-days: snapshots older than N days pruned\n"
	"  kura restore --from DEST [--snapshot NAME] --data NEWDIR [--keys DIR] [--ledger FILE]\n"
	"                                         a deployment back from a backup\n"
	"  kura erasure verify FILE --key PUBKEY  check an erasure certificate offline\n"
	"  kura doctor --data DIR [--json]        check modes, keys, certificate, clock, listeners, disk\n"
	"  kura version [--deps]                  versions of kura (and of every linked library)\n"
	"  kura sbom [--output FILE]              CycloneDX 1.6 JSON SBOM of kura and its libraries\n"
	"  kura compliance report --data DIR [--tenant CODE] [--lang ja|en] [--format html|json|oscal]\n"
	"                                         the compliance statement with its evidence\n"
	"  kura compliance evidence --data DIR --tenant CODE --from DATE --to DATE --out FILE\n"
	"                                         a signed evidence bundle for auditors\n"
	"  kura compliance verify FILE --key PUBKEY  check an evidence bundle offline\n";

void cli_path(char *buf, size_t size, const char *dir, const char *name)
{
	if (str_printf(buf, size, "%s/%s", dir, name) < 0) {
		fprintf(stderr, "kura: path too long: %s/%s\n", dir, name);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	/* everything kura creates (database, WAL, keys, socket) is its owner's alone */
	umask(077);
	clock_init();   /* before any thread: the zone conversions never grow the environment */
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "init"))
		return cmd_init(argc - 1, argv + 1);
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "admin"))
		return cmd_admin(argc - 1, argv + 1);
	if (!strcmp(argv[1], "audit"))
		return cmd_audit(argc - 1, argv + 1);
	if (!strcmp(argv[1], "backup"))
		return cmd_backup(argc - 1, argv + 1);
	if (!strcmp(argv[1], "restore"))
		return cmd_restore(argc - 1, argv + 1);
	if (!strcmp(argv[1], "erasure"))
		return cmd_erasure(argc - 1, argv + 1);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version"))
		return cmd_version(argc - 1, argv + 1);
	if (!strcmp(argv[1], "doctor"))
		return cmd_doctor(argc - 1, argv + 1);
	if (!strcmp(argv[1], "compliance"))
		return cmd_compliance(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sbom"))
		return cmd_sbom(argc - 1, argv + 1);
	fprintf(stderr, "kura: unknown command \"%s\"\n\n%s", argv[1], usage);
	return 2;
}
