// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "util.h"
#include "vm.h"

int main(int argc, char **argv)
{
	static struct vm_config cfg;
	static struct vm vm;
	char err[512];
	int status;

	if (argc > 1 && !strcmp(argv[1], "bench"))
		return bench_main(argc - 1, argv + 1);

	switch (cli_parse(argc, argv, &cfg, err, sizeof(err))) {
	case CLI_HELP:
		cli_usage(stdout);
		return 0;
	case CLI_VERSION:
		printf("vmm %s\n", VMM_VERSION);
		return 0;
	case CLI_ERROR:
		fprintf(stderr, "vmm: error: %s\n", err);
		return VM_EXIT_USAGE;
	case CLI_RUN:
		break;
	}
	vm_build(&vm, &cfg);
	status = vm_run(&vm);
	vm_destroy(&vm);
	return status;
}
