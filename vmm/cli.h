/* SPDX-License-Identifier: MIT */
/* Command-line parsing, strict: exact option names, no junk, no zero. */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stddef.h>

#include "vm.h"

#define VMM_VERSION "0.1.0"
#define DEFAULT_MEM (256ULL << 20)
#define MAX_MEM	    (1ULL << 40)

enum cli_result { CLI_RUN = 0, CLI_HELP = 1, CLI_VERSION = 2, CLI_ERROR = -1 };

/* Fill cfg from argv (argv[0] is the program). On CLI_ERROR, err says why. */
enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg,
			  char *err, size_t errlen);
void cli_usage(FILE *out);
/* The --disk and --net option strings. 0, or CLI_ERROR with err set. */
int cli_parse_disk(const char *arg, struct disk_config *dc, char *err,
		   size_t errlen);
int cli_parse_net(const char *arg, struct net_config *nc, char *err,
		  size_t errlen);

#endif
