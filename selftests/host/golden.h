/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Golden files for host tests: output compared with
 * selftests/host/golden/NAME; TCPCLOSE_UPDATE_GOLDEN=1 rewrites them.
 */
#ifndef TCPCLOSE_GOLDEN_H
#define TCPCLOSE_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../tap.h"

#define GOLDEN "selftests/host/golden/"

static inline int golden(const char *name, const char *got)
{
	char path[128], *want = NULL;
	size_t len = 0;
	FILE *f;
	int same;

	snprintf(path, sizeof(path), GOLDEN "%s", name);
	if (getenv("TCPCLOSE_UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		if (f) {
			fputs(got, f);
			fclose(f);
		}
	}
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (getdelim(&want, &len, '\0', f) < 0) {
		free(want);
		want = NULL;
	}
	fclose(f);
	same = want && !strcmp(want, got);
	if (!same)
		tap_info("%s differs; got:\n%s", path, got);
	free(want);
	return same;
}

#endif
