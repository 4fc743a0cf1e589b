/* imt_limits.c - defaults for the caps declared in imt_limits.h. */
#include "imt_limits.h"

void imt_limits_default(struct imt_limits *l)
{
	l->max_flows = IMT_DEFAULT_MAX_FLOWS;
	l->max_flow_buffer = IMT_DEFAULT_MAX_FLOW_BUFFER;
	l->max_total_buffer = IMT_DEFAULT_MAX_TOTAL_BUFFER;
	l->idle_timeout = IMT_DEFAULT_IDLE_TIMEOUT;
	l->max_line = IMT_DEFAULT_MAX_LINE;
	l->oversized_arg = IMT_DEFAULT_OVERSIZED_ARG;
	l->max_depth = IMT_DEFAULT_MAX_DEPTH;
	l->max_tokens = IMT_DEFAULT_MAX_TOKENS;
	l->max_literal = IMT_DEFAULT_MAX_LITERAL;
	l->max_tag = IMT_DEFAULT_MAX_TAG;
	l->literal_preview = IMT_DEFAULT_LITERAL_PREVIEW;
	l->max_frag_datagrams = IMT_DEFAULT_MAX_FRAG_DATAGRAMS;
	l->max_frag_bytes = IMT_DEFAULT_MAX_FRAG_BYTES;
	l->frag_timeout = IMT_DEFAULT_FRAG_TIMEOUT;
	l->max_pending = IMT_DEFAULT_MAX_PENDING;
	l->max_args_text = IMT_DEFAULT_MAX_ARGS_TEXT;
	l->max_extract_bytes = IMT_DEFAULT_MAX_EXTRACT_BYTES;
	l->max_extract_open = IMT_DEFAULT_MAX_EXTRACT_OPEN;
	l->max_mime_parts = IMT_DEFAULT_MAX_MIME_PARTS;
	l->max_mime_depth = IMT_DEFAULT_MAX_MIME_DEPTH;
	l->max_mime_header = IMT_DEFAULT_MAX_MIME_HEADER;
	l->max_mime_headers = IMT_DEFAULT_MAX_MIME_HEADERS;
	l->mime_time_ms = IMT_DEFAULT_MIME_TIME_MS;
}
