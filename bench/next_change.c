/* next_change.c - what looking ahead (next_change, SPEC §3) costs a
 * decision, without HTTP: a micro-benchmark, not a test.
 *
 *	build/bench_next_change [SECONDS]
 *
 * Decides a fixed mix of 16 fact sets (registered card holders with and
 * without care needs, late-elderly members around the renewal days,
 * expiring e-certificates, certificates running out, children, unknown
 * registrations) on a few as_of dates, SECONDS (1) per measure, in
 * alternating rounds so that both sides see the same machine:
 *   decide_at      rules_decide_at: today's decision alone;
 *   decide         rules_decide: the same and next_change;
 *   json_at, json  each followed by api_decision_json into a reused
 *                  buffer, the rest of evaluate's work but HTTP.
 * Prints one JSON object: nanoseconds per decision for each, and how much
 * slower looking ahead makes each (percent). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/internal.h"
#include "rules/rules.h"

#define N_FACTS 16
#define N_DAYS  4
#define ROUNDS  5

static int32_t day_of(const char *s)
{
	int32_t d = RULES_NO_DATE;

	if (rules_date_parse(s, strlen(s), &d) != 0) {
		fprintf(stderr, "bench: bad date %s\n", s);
		exit(1);
	}
	return d;
}

static struct rules_facts person(const char *birth, const char *number,
				 enum rules_card card,
				 enum rules_registration reg, unsigned needs)
{
	struct rules_facts f;

	rules_facts_init(&f);
	if (birth)
		f.birth_date = day_of(birth);
	if (number)
		snprintf(f.insurer_number, sizeof f.insurer_number, "%s",
			 number);
	f.mynumber_card = card;
	f.insurance_registration = reg;
	f.care_needs = needs;
	return f;
}

static void make_facts(struct rules_facts *f)
{
	const enum rules_card H = RULES_CARD_HELD;
	const enum rules_registration R = RULES_REG_REGISTERED;
	const unsigned dementia = 1u << RULES_NEED_DEMENTIA;
	int i = 0;

	f[i++] = person("1960-01-01", "138057", H, R, 0);
	f[i++] = person("1960-01-01", "138057", H, R, dementia);
	f[i++] = person("1941-09-10", "39132014", H, R, 0);
	f[i++] = person("1946-02-02", "39132014", H, R, dementia);
	f[i++] = person("1935-01-10", "39132014", H, R, 0);
	f[i++] = person("1951-03-10", NULL, H, R, 0);
	f[i] = person("1980-05-05", "138057", H, R, 0);
	f[i++].ecert_expiry = day_of("2026-10-15");
	f[i] = person("1970-06-06", "01040013", H, R, 1u << RULES_NEED_ILLNESS);
	f[i].cert_status = RULES_CERT_ISSUED;
	f[i].cert_basis = RULES_BASIS_EX_OFFICIO;
	f[i++].cert_valid_until = day_of("2027-07-31");
	f[i] = person("2012-02-29", "138057", H, R, 0);
	f[i++].setting = RULES_SETTING_CHILDRENS_FACILITY;
	f[i++] = person("1945-04-04", "39132014", RULES_CARD_UNKNOWN,
			RULES_REG_UNKNOWN, 0);
	f[i++] = person(NULL, "138057", RULES_CARD_NONE, RULES_REG_UNKNOWN, 0);
	f[i] = person("1950-12-31", "39132014", H, R, dementia);
	f[i].cert_status = RULES_CERT_APPLIED;
	f[i++].legacy_card_expiry = day_of("2026-07-31");
	f[i] = person("1990-07-31", "138057", H, R, 0);
	f[i++].card_expiry = day_of("2027-03-31");
	f[i++] = person("1938-08-01", NULL, H, R, 0);
	f[i] = person("1955-11-11", "138057", H, RULES_REG_UNREGISTERED,
		      dementia);
	f[i++].setting = RULES_SETTING_CARE_FACILITY;
	f[i] = person("1944-05-05", "39132014", RULES_CARD_LOST, R, 0);
	f[i++].setting = RULES_SETTING_HOME;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* mode bit 0: look ahead; bit 1: write the JSON too.  ns per decision. */
static double measure(const struct rules_facts *f, const int32_t *days,
		      const struct rules_params *p, int mode, double seconds,
		      unsigned long *sink)
{
	struct rules_decision d;
	struct api_buf b;
	unsigned long n = 0;
	double t0 = now_s(), t = t0;
	int i, k;

	api_buf_init(&b, (size_t)1 << 20);
	while (t - t0 < seconds) {
		for (k = 0; k < 64; k++) {
			for (i = 0; i < N_FACTS * N_DAYS; i++) {
				if (mode & 1)
					rules_decide(&f[i % N_FACTS],
						     days[i / N_FACTS], p, &d);
				else
					rules_decide_at(&f[i % N_FACTS],
							days[i / N_FACTS], p,
							&d);
				*sink += (unsigned long)d.next_change.date +
					 d.entitlement;
				if (mode & 2) {
					b.len = 0;
					api_decision_json(&b, &d, p,
							  RULES_LANG_JA, t);
					*sink += b.len;
				}
			}
			n += N_FACTS * N_DAYS;
		}
		t = now_s();
	}
	api_buf_fini(&b);
	return (t - t0) * 1e9 / (double)n;
}

int main(int argc, char **argv)
{
	struct rules_facts f[N_FACTS];
	struct rules_params p;
	const int32_t days[N_DAYS] = {day_of("2025-06-01"), day_of("2026-05-01"),
				      day_of("2026-11-30"), day_of("2027-07-31")};
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	double best[4] = {1e30, 1e30, 1e30, 1e30}, v;
	unsigned long sink = 0;
	int r, mode;

	if (seconds <= 0)
		seconds = 1.0;
	make_facts(f);
	rules_params_default(&p);
	/* The best of a few rounds of each: the least disturbed by the
	 * other processes of a shared machine. */
	for (r = 0; r < ROUNDS; r++) {
		for (mode = 0; mode < 4; mode++) {
			v = measure(f, days, &p, mode, seconds / ROUNDS, &sink);
			if (v < best[mode])
				best[mode] = v;
		}
	}
	printf("{\"decide_at_ns\":%.1f,\"decide_ns\":%.1f,"
	       "\"decide_slower_pct\":%.1f,\"json_at_ns\":%.1f,"
	       "\"json_ns\":%.1f,\"json_slower_pct\":%.1f,\"sink\":%lu}\n",
	       best[0], best[1], (best[1] / best[0] - 1) * 100, best[2],
	       best[3], (best[3] / best[2] - 1) * 100, sink % 10);
	return 0;
}
