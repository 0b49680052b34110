/* kura command-line entry point. */
#include <stdio.h>

#include "core/core.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	puts("kura " KURA_VERSION);
	return 0;
}
