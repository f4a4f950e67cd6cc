/* SPDX-License-Identifier: MIT */
/* Smallest payload: one line on the console, exit status 0. */
#include "rt.h"

int main(void)
{
	puts("Hello from guest-firmware");
	return 0;
}
