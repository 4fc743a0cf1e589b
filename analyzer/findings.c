/* findings.c - the catalog table behind findings.h. */
#include "findings.h"

#include <string.h>

static const struct imt_finding_info finding_table[F__COUNT] = {
#define IMT_FINDING_ROW(e, id, cat, sev, rfc, msg) \
	[F_##e] = { id, cat, SEV_##sev, rfc, msg },
	IMT_FINDINGS(IMT_FINDING_ROW)
#undef IMT_FINDING_ROW
};

static const char *const severity_names[] = {
	[SEV_INFO] = "info", [SEV_LOW] = "low",
	[SEV_MEDIUM] = "medium", [SEV_HIGH] = "high",
};

const struct imt_finding_info *imt_finding_info(enum imt_finding id)
{
	return &finding_table[id];
}

const char *imt_severity_name(enum imt_severity s)
{
	return severity_names[s];
}

int imt_severity_parse(const char *name, enum imt_severity *sev_r)
{
	for (size_t i = 0; i < sizeof(severity_names) / sizeof(*severity_names); i++) {
		if (strcmp(name, severity_names[i]) == 0) {
			*sev_r = (enum imt_severity)i;
			return 0;
		}
	}
	return -1;
}
