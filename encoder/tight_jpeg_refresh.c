/* Lossless refresh decisions. See tight_jpeg_refresh.h. */
#include "tight_jpeg_refresh.h"

bool tight_refresh_due(uint64_t since, uint64_t now_ms, uint32_t delay_ms, uint32_t slack_ms)
{
	if (since == TIGHT_REFRESH_NOT_LOSSY || delay_ms == 0)
		return false;
	/* A timestamp from the future (clock read on another thread a moment later) is not
	 * due; subtracting first would wrap around. */
	if (now_ms < since)
		return false;
	return now_ms - since + slack_ms >= delay_ms;
}

size_t tight_refresh_scan(const uint64_t *since, size_t n, uint64_t now_ms, uint32_t delay_ms,
			  uint32_t slack_ms, uint8_t *due, uint64_t *next_ms)
{
	uint64_t next = TIGHT_REFRESH_NEVER;
	size_t n_due = 0;

	for (size_t i = 0; i < n; i++) {
		bool d = tight_refresh_due(since[i], now_ms, delay_ms, slack_ms);

		if (due)
			due[i] = d;
		if (d) {
			n_due++;
		} else if (since[i] != TIGHT_REFRESH_NOT_LOSSY && delay_ms) {
			uint64_t at = since[i] + delay_ms;

			if (at < next)
				next = at;
		}
	}
	*next_ms = next;
	return n_due;
}

void tight_refresh_record(uint64_t *since, const uint8_t *sent, size_t n, uint64_t now_ms)
{
	for (size_t i = 0; i < n; i++) {
		if (sent[i] == TIGHT_REFRESH_LOSSY)
			since[i] = now_ms;
		else if (sent[i] == TIGHT_REFRESH_EXACT)
			since[i] = TIGHT_REFRESH_NOT_LOSSY;
	}
}

void tight_refresh_mark_all_lossy(uint64_t *since, size_t n, uint64_t now_ms)
{
	/* A tile already lossy keeps its older time: its refresh is not put off. */
	for (size_t i = 0; i < n; i++)
		if (since[i] > now_ms)
			since[i] = now_ms;
}
