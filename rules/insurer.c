/* insurer.c - insurer numbers (保険者番号) of SPEC §5: validation, the
 * scheme from the 法別番号 and the counter a member applies at.
 */
#include "rules/rules.h"

#include <string.h>

int rules_insurer_check_digit(const char *digits, size_t n)
{
	int sum = 0;
	int weight = 2;
	size_t i;

	/* From the rightmost digit leftwards, weights 2, 1, 2, 1, ...; the
	 * digits of each product are added (16 counts as 1 + 6). */
	for (i = n; i > 0; i--) {
		int product = (digits[i - 1] - '0') * weight;

		sum += product / 10 + product % 10;
		weight = weight == 2 ? 1 : 2;
	}
	return (10 - sum % 10) % 10;
}

static int insurer_two_digits(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

static enum rules_scheme insurer_scheme_of(int houbetsu)
{
	switch (houbetsu) {
	case 0:
		/* JP Core pads a 6-digit NHI number with "00". */
		return RULES_SCHEME_NHI;
	case 1: return RULES_SCHEME_KYOKAI;
	case 2: return RULES_SCHEME_SEAMEN;
	case 3:
	case 4: return RULES_SCHEME_DAY_LABORER;
	case 6: return RULES_SCHEME_SOCIETY;
	case 7: return RULES_SCHEME_SDF;
	case 31:
	case 32:
	case 33:
	case 34: return RULES_SCHEME_MUTUAL_AID;
	case 39: return RULES_SCHEME_LATE_ELDERLY;
	case 63:
	case 72:
	case 73:
	case 74:
	case 75: return RULES_SCHEME_SPECIAL_RETIREE;
	default: return RULES_SCHEME_OTHER;
	}
}

enum rules_insurer_error rules_insurer_parse(const char *s, size_t len,
					     struct rules_insurer *out)
{
	size_t i;
	int prefecture;

	if (s == NULL || (len != 6 && len != 8))
		return RULES_INSURER_BAD_LENGTH;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return RULES_INSURER_NOT_DIGITS;
	}
	if (rules_insurer_check_digit(s, len - 1) != s[len - 1] - '0')
		return RULES_INSURER_BAD_CHECK_DIGIT;
	/* 6 digits: 都道府県番号 first; 8 digits: after the 法別番号. */
	prefecture = insurer_two_digits(len == 6 ? s : s + 2);
	if (prefecture < 1 || prefecture > 47)
		return RULES_INSURER_BAD_PREFECTURE;

	memset(out, 0, sizeof(*out));
	memcpy(out->number, s, len);
	out->number[len] = '\0';
	out->scheme = len == 6 ? RULES_SCHEME_NHI
			       : insurer_scheme_of(insurer_two_digits(s));
	out->prefecture = prefecture;
	return RULES_INSURER_OK;
}

bool rules_scheme_agrees(enum rules_scheme from_number, enum rules_scheme fact)
{
	if (fact == RULES_SCHEME_UNKNOWN || fact == from_number)
		return true;
	/* A 国保組合 has a 6-digit number like a municipality's NHI. */
	return from_number == RULES_SCHEME_NHI &&
	       fact == RULES_SCHEME_NHI_ASSOCIATION;
}

enum rules_channel rules_scheme_channel(enum rules_scheme s)
{
	switch (s) {
	case RULES_SCHEME_NHI:
	case RULES_SCHEME_LATE_ELDERLY:
		/* 後期高齢者医療: the insurer is the 広域連合, the counter the
		 * municipality's. */
		return RULES_CHANNEL_MUNICIPAL_COUNTER;
	case RULES_SCHEME_KYOKAI:
	case RULES_SCHEME_SEAMEN:
	case RULES_SCHEME_SOCIETY:
	case RULES_SCHEME_SDF:
	case RULES_SCHEME_MUTUAL_AID:
	case RULES_SCHEME_DAY_LABORER:
		/* Employee schemes: through the employer (directly to the insurer
		 * only for 任意継続, which the facts do not tell). */
		return RULES_CHANNEL_EMPLOYER;
	case RULES_SCHEME_NHI_ASSOCIATION:
	case RULES_SCHEME_SPECIAL_RETIREE:
	case RULES_SCHEME_OTHER: return RULES_CHANNEL_INSURER;
	case RULES_SCHEME_UNKNOWN:
	case RULES_SCHEME_COUNT: break;
	}
	return RULES_CHANNEL_NONE;
}
