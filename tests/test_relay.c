/*
 * test_relay.c - the relay must hand its consumer the very calls the TCP
 * stage made: same order, same bytes at the same offsets, same metadata,
 * texts intact after the caller's buffers are gone, and a consumer's
 * "stop" honoured.  A recording consumer writes a transcript; the same
 * script is played once directly and once through a relay.
 */
#include <check.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cap_files.h"
#include "check_main.h"
#include "relay.h"

/* ---- a recording consumer ------------------------------------------ */

struct rec_flow {
	int magic;           /* REC_FLOW while the flow is open */
	int id;
	uint64_t bytes[2];
	uint64_t sum[2];     /* a position-weighted checksum of the bytes */
};

struct recorder {
	char *log;
	size_t len;
	FILE *fp;
	int next_id;
	int stop_id;         /* on_data of this flow returns 1 */
	uint64_t aheads;     /* on_ahead calls, each for an open flow */
};

#define REC_FLOW 0x5eed

static void *r_open(void *user, const struct tcp_flow_info *info)
{
	struct recorder *r = user;
	struct rec_flow *f = calloc(1, sizeof(*f));

	f->magic = REC_FLOW;
	f->id = ++r->next_id;
	fprintf(r->fp, "open %d port %u how %d mid %d frame %llu\n", f->id,
		info->server.port, info->how, info->midstream,
		(unsigned long long)info->first.frame);
	return f;
}

static struct recorder *the_recorder;

static int r_data(void *flow, enum imt_dir dir, const uint8_t *data,
		  size_t len, uint64_t offset, const struct tcp_meta *m)
{
	struct rec_flow *f = flow;

	/* Runs may come in pieces: check continuity, record the totals. */
	ck_assert_uint_eq(offset, f->bytes[dir]);
	for (size_t i = 0; i < len; i++)
		f->sum[dir] = f->sum[dir] * 31 + data[i];
	f->bytes[dir] += len;
	fprintf(the_recorder->fp, "data %d dir %d frame %llu ts %lld.%u\n", f->id,
		dir, (unsigned long long)m->frame, (long long)m->ts_sec, m->ts_nsec);
	return f->id == the_recorder->stop_id;
}

static void r_gap(void *flow, enum imt_dir dir, uint64_t offset,
		  uint64_t bytes, const struct tcp_meta *m)
{
	struct rec_flow *f = flow;

	ck_assert_uint_eq(offset, f->bytes[dir]);
	f->bytes[dir] += bytes;
	fprintf(the_recorder->fp, "gap %d dir %d off %llu bytes %llu frame %llu\n",
		f->id, dir, (unsigned long long)offset, (unsigned long long)bytes,
		(unsigned long long)m->frame);
}

static void r_finding(void *flow, const struct imt_finding_report *fr,
		      const struct tcp_meta *m)
{
	struct rec_flow *f = flow;

	fprintf(the_recorder->fp, "finding %d id %d frame %llu/%llu detail %s limit %s value %llu at %llu\n",
		f->id, fr->id, (unsigned long long)fr->frame,
		(unsigned long long)m->frame, fr->detail ? fr->detail : "(null)",
		fr->limit ? fr->limit : "(null)", (unsigned long long)fr->value,
		(unsigned long long)fr->offset);
}

static void r_close(void *flow, const struct tcp_close_info *ci)
{
	struct rec_flow *f = flow;

	fprintf(the_recorder->fp,
		"close %d reason %d frame %llu bytes %llu/%llu sums %llx/%llx history %s\n",
		f->id, ci->reason, (unsigned long long)ci->last.frame,
		(unsigned long long)f->bytes[0], (unsigned long long)f->bytes[1],
		(unsigned long long)f->sum[0], (unsigned long long)f->sum[1],
		ci->history ? ci->history : "(null)");
	f->magic = 0;
	free(f);
}

/* Told of a flow's coming callback: the flow must be open (ASan would
 * see one freed); nothing is written, as nothing may change. */
static void r_ahead(void *flow)
{
	struct rec_flow *f = flow;

	ck_assert_int_eq(f->magic, REC_FLOW);
	the_recorder->aheads++;
}

static void r_global(void *user, const struct imt_finding_report *fr,
		     const struct tcp_meta *m)
{
	struct recorder *r = user;

	fprintf(r->fp, "global id %d frame %llu detail %s limit %s\n", fr->id,
		(unsigned long long)m->frame, fr->detail ? fr->detail : "(null)",
		fr->limit ? fr->limit : "(null)");
}

static int r_classify(const uint8_t *data, size_t len)
{
	return len > 0 && data[0] == '*';
}

static const struct tcp_callbacks recorder_cb = {
	.on_open = r_open, .on_data = r_data, .on_gap = r_gap, .on_finding = r_finding,
	.on_close = r_close, .on_global_finding = r_global, .classify = r_classify,
	.on_ahead = r_ahead,
};

/* ---- the script ------------------------------------------------------ */

/* The bytes data calls are made of; runs start up to 1000 in. */
#define PLAY_BIG   (3u << 20)   /* a run longer than a relay chunk */
#define PLAY_BYTES (PLAY_BIG + 1000)

static uint8_t play_byte(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 9));
}

/* Plays a fixed sequence of TCP-stage calls on cb/user; every third
 * data call is leasable, from `leased` (PLAY_BYTES bytes a reader can
 * lease: lessor), the others from a copy that is scribbled over once
 * `done` (may be NULL) has been called. */
static void play(const struct tcp_callbacks *cb, void *user,
		 void (*global)(void *, const struct imt_finding_report *,
				const struct tcp_meta *), void *guser,
		 void (*done)(void *), struct cap_reader *lessor,
		 const uint8_t *leased)
{
	enum { NFLOWS = 5 };
	void *h[NFLOWS];
	uint64_t off[NFLOWS][2] = { { 0 } };
	size_t big = PLAY_BIG;
	uint8_t *buf = malloc(PLAY_BYTES);
	char text[64];

	for (size_t i = 0; i < PLAY_BYTES; i++)
		buf[i] = play_byte(i);
	for (int f = 0; f < NFLOWS; f++) {
		struct tcp_flow_info info;

		memset(&info, 0, sizeof(info));
		info.server.port = (uint16_t)(143 + f);
		info.how = (enum tcp_orient)(f % 4);
		info.midstream = f & 1;
		info.first.frame = (uint64_t)f + 1;
		h[f] = cb->on_open(user, &info);
		ck_assert_ptr_nonnull(h[f]);
	}
	for (int step = 0; step < 400; step++) {
		int f = step % NFLOWS;
		enum imt_dir d = (enum imt_dir)((step / NFLOWS) % 2);
		int lease = step % 3 == 2;
		struct tcp_meta m = { .frame = 100 + (uint64_t)step,
				      .ts_sec = 1700000000 + step,
				      .ts_nsec = (uint32_t)step * 1000,
				      .lessor = lease ? lessor : NULL };
		size_t len = step == 77 ? big : (size_t)(step * 37) % 1500 + 1;

		if (step % 13 == 5) {
			cb->on_gap(h[f], d, off[f][d], 1000, &m);
			off[f][d] += 1000;
		} else if (step % 17 == 3) {
			/* The text lives only during the call. */
			struct imt_finding_report fr = { .id = F_TCP_OVERLAP_MISMATCH,
				.frame = 50, .other_frame = 40, .dir = d, .offset = off[f][d],
				.detail = text, .limit = step % 2 ? "max-buffer" : NULL,
				.value = (uint64_t)step };

			snprintf(text, sizeof(text), "finding at step %d", step);
			cb->on_finding(h[f], &fr, &m);
			memset(text, 'X', sizeof(text) - 1);
		} else {
			cb->on_data(h[f], d, (lease ? leased : buf) + (step * 11) % 1000,
				    len, off[f][d], &m);
			off[f][d] += len;
		}
		if (step % 50 == 49) {
			struct imt_finding_report fr = { .id = F_LIMIT_REACHED,
				.limit = "max-flows", .detail = NULL };

			global(guser, &fr, &m);
		}
	}
	for (int f = 0; f < NFLOWS; f++) {
		char hist[16];
		struct tcp_close_info ci;

		memset(&ci, 0, sizeof(ci));
		snprintf(hist, sizeof(hist), "ShAD%d", f);
		ci.reason = (enum tcp_close_reason)(f % 3);
		ci.last.frame = 900 + (uint64_t)f;
		ci.history = f == 2 ? NULL : hist;
		cb->on_close(h[f], &ci);
		memset(hist, 'Y', sizeof(hist));
	}
	if (done != NULL)
		done(guser);
	/* Data that was not leased was copied: scribbling on it now would
	 * show in the sums. */
	memset(buf, 0x5a, PLAY_BYTES);
	free(buf);
}

static void direct_global(void *user, const struct imt_finding_report *f,
			  const struct tcp_meta *m)
{
	r_global(user, f, m);
}

static void relay_global(void *user, const struct imt_finding_report *f,
			 const struct tcp_meta *m)
{
	relay_global_finding(user, f, m);
}

static void relay_done(void *user)
{
	relay_sync(user);
}

/* A transcript run plays inside the first packet's callback of a mapped
 * file whose bytes after that packet are the ones played with, so that
 * they can be leased as that packet's can. */
struct stage {
	struct recorder *rec;
	struct relay *relay;
	const uint8_t *leased;
};

static int stage_on_packet(void *user, const struct cap_packet *pkt)
{
	struct stage *st = user;

	ck_assert_ptr_nonnull(pkt->lessor);
	st->leased = pkt->data + pkt->caplen;
	if (st->relay == NULL) {
		play(&recorder_cb, st->rec, direct_global, st->rec, NULL,
		     pkt->lessor, st->leased);
	} else {
		struct tcp_callbacks cb;

		relay_tcp_callbacks(st->relay, &cb);
		ck_assert_ptr_eq(cb.classify, r_classify);
		play(&cb, st->relay, relay_global, st->relay, relay_done,
		     pkt->lessor, st->leased);
	}
	return 1;
}

/* on_ahead calls of the last transcript(). */
static uint64_t transcript_aheads;

static char *transcript(int through_relay, int stop_id)
{
	static const struct cap_callbacks ccb = { .on_packet = stage_on_packet };
	struct recorder rec;
	struct stage st = { &rec, NULL, NULL };
	struct cap_reader *cap = cap_reader_new(NULL, &ccb, &st);
	uint8_t *bytes = malloc(PLAY_BYTES), *img;
	size_t size;
	const char *path;

	for (size_t i = 0; i < PLAY_BYTES; i++)
		bytes[i] = play_byte(i);
	img = pcap_image(1, 64, &size);
	img = realloc(img, size + PLAY_BYTES);
	memcpy(img + size, bytes, PLAY_BYTES);
	path = tmpfile_with(img, size + PLAY_BYTES);
	memset(&rec, 0, sizeof(rec));
	rec.fp = open_memstream(&rec.log, &rec.len);
	rec.stop_id = stop_id;
	the_recorder = &rec;
	if (through_relay) {
		st.relay = relay_new(&recorder_cb, &rec, 1u << 20);
		ck_assert_ptr_nonnull(st.relay);
	}
	/* The one packet read stops the read, by the callback's choice. */
	ck_assert_int_eq(cap_read_file(cap, path), CAP_ERR_STOPPED);
	/* Every lease went with relay_sync(): so did the file. */
	ck_assert_int_eq(mapped_in(st.leased), -1);
	relay_free(st.relay);
	cap_reader_free(cap);
	fclose(rec.fp);
	transcript_aheads = rec.aheads;
	unlink(path);
	free(img);
	free(bytes);
	return rec.log;
}

START_TEST(replays_every_call_in_order)
{
	char *direct = transcript(0, 0);
	char *relayed = transcript(1, 0);

	/* The worker told the consumer ahead of most of its calls. */
	ck_assert_uint_gt(transcript_aheads, 10);

	/* Pieces of one run are not told apart: compare the line sets of
	 * data calls by counting, everything else exactly.  The recorder
	 * writes one line per data call, so fold consecutive equal lines. */
	ck_assert_ptr_nonnull(strstr(direct, "close 5"));
	ck_assert_ptr_nonnull(strstr(direct, "finding at step 3 "));
	ck_assert_ptr_nonnull(strstr(direct, "history (null)"));
	ck_assert_ptr_nonnull(strstr(direct, "global id"));
	{
		/* Fold repeats (a run split into pieces gives repeated lines). */
		char *a = direct, *b = relayed;
		char prev_a[256] = "", prev_b[256] = "";

		for (;;) {
			char la[256], lb[256];
			int na = 0, nb = 0;

			do {
				na = sscanf(a, "%255[^\n]\n", la) == 1;
				if (na)
					a = strchr(a, '\n') + 1;
			} while (na && strcmp(la, prev_a) == 0);
			do {
				nb = sscanf(b, "%255[^\n]\n", lb) == 1;
				if (nb)
					b = strchr(b, '\n') + 1;
			} while (nb && strcmp(lb, prev_b) == 0);
			ck_assert_int_eq(na, nb);
			if (!na)
				break;
			ck_assert_str_eq(la, lb);
			strcpy(prev_a, la);
			strcpy(prev_b, lb);
		}
	}
	free(direct);
	free(relayed);
}
END_TEST

START_TEST(a_stopped_flow_gets_no_more_data)
{
	char *relayed = transcript(1, 3);
	const char *last_data = NULL, *p = relayed;

	/* After flow 3's first data call said stop, no data or gap of flow 3
	 * is replayed, but its close still is. */
	while ((p = strstr(p, "data 3 ")) != NULL) {
		last_data = p;
		p++;
	}
	ck_assert_ptr_nonnull(last_data);
	ck_assert_ptr_null(strstr(last_data + 1, "data 3 "));
	ck_assert_ptr_null(strstr(last_data, "gap 3 "));
	ck_assert_ptr_nonnull(strstr(last_data, "close 3 "));
	free(relayed);
}
END_TEST

START_TEST(sync_drains_the_queue)
{
	struct recorder rec;
	struct relay *r;
	struct tcp_callbacks cb;
	struct tcp_flow_info info;
	struct tcp_meta m = { .frame = 1 };
	struct tcp_close_info ci;
	void *h;

	memset(&rec, 0, sizeof(rec));
	rec.fp = open_memstream(&rec.log, &rec.len);
	the_recorder = &rec;
	r = relay_new(&recorder_cb, &rec, 0);   /* the smallest queue */
	ck_assert_ptr_nonnull(r);
	relay_tcp_callbacks(r, &cb);
	memset(&info, 0, sizeof(info));
	h = cb.on_open(r, &info);
	for (int i = 0; i < 2000; i++)
		cb.on_data(h, IMT_C2S, (const uint8_t *)"abcdefgh", 8, (uint64_t)i * 8, &m);
	relay_sync(r);
	fflush(rec.fp);
	ck_assert_ptr_nonnull(strstr(rec.log, "open 1"));
	ck_assert_ptr_null(strstr(rec.log, "close"));
	memset(&ci, 0, sizeof(ci));
	cb.on_close(h, &ci);
	relay_free(r);
	fclose(rec.fp);
	ck_assert_ptr_nonnull(strstr(rec.log, "close 1 reason 0 frame 0 bytes 16000/0"));
	free(rec.log);
	relay_free(NULL);
}
END_TEST

/* A consumer held at a gate, that checks the leased bytes it reads
 * (its open and close serve the idle-work test too). */
static atomic_int gate_open;
static _Atomic uint64_t gated_frames_done;

static void *gated_open(void *user, const struct tcp_flow_info *info)
{
	static int handle;

	(void)user;
	(void)info;
	return &handle;
}

static int gated_data(void *flow, enum imt_dir dir, const uint8_t *data,
		      size_t len, uint64_t offset, const struct tcp_meta *m)
{
	(void)flow;
	(void)dir;
	(void)offset;
	while (!atomic_load(&gate_open))
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	ck_assert_ptr_nonnull(m->lessor);
	ck_assert(all_are(data, len, image_byte(m->frame)));
	gated_frames_done = m->frame;
	return 0;
}

static void gated_close(void *flow, const struct tcp_close_info *ci)
{
	(void)flow;
	(void)ci;
}

/* Every 100th packet of a mapped file goes to the relay, by reference. */
struct feeder {
	struct tcp_callbacks cb;
	void *h;
	const uint8_t *first;
	uint64_t off;
};

static int feeder_on_packet(void *user, const struct cap_packet *pkt)
{
	struct feeder *fd = user;
	struct tcp_meta m = { .frame = pkt->frame, .lessor = pkt->lessor };

	if (pkt->frame % 100 != 1)
		return 0;
	if (fd->first == NULL)
		fd->first = pkt->data;
	fd->cb.on_data(fd->h, IMT_C2S, pkt->data, pkt->caplen, fd->off, &m);
	fd->off += pkt->caplen;
	return 0;
}

START_TEST(leased_data_is_held_until_replayed)
{
	/* The relay queues leased bytes by reference, under leases its
	 * worker releases once it has replayed them: the file outlives its
	 * reading until then, and only then goes.  A chunk's lease spans a
	 * bounded part of the file: data spread wider starts a new chunk. */
	static const struct tcp_callbacks gated_cb = {
		.on_open = gated_open, .on_data = gated_data, .on_close = gated_close,
	};
	static const struct cap_callbacks ccb = { .on_packet = feeder_on_packet };
	struct relay *r = relay_new(&gated_cb, NULL, 8 * 512 * 1024);   /* 8 chunks */
	struct feeder fd;
	struct cap_reader *cap = cap_reader_new(NULL, &ccb, &fd);
	struct relay_stats st;
	struct tcp_flow_info info;
	struct tcp_close_info ci;
	size_t size, npkt = 8000;
	uint8_t *img = pcap_image(npkt, 1000, &size);
	const char *path = tmpfile_with(img, size);

	ck_assert_ptr_nonnull(r);
	memset(&fd, 0, sizeof(fd));
	relay_tcp_callbacks(r, &fd.cb);
	memset(&info, 0, sizeof(info));
	fd.h = fd.cb.on_open(r, &info);
	atomic_store(&gate_open, 0);
	ck_assert_int_eq(cap_read_file(cap, path), CAP_OK);
	cap_reader_free(cap);
	/* Read, but not replayed: still there. */
	ck_assert_int_ge(mapped_in(fd.first), 0);
	ck_assert_uint_eq(gated_frames_done, 0);
	atomic_store(&gate_open, 1);
	relay_sync(r);
	ck_assert_uint_eq(gated_frames_done, npkt - 99);
	ck_assert_int_eq(mapped_in(fd.first), -1);
	memset(&ci, 0, sizeof(ci));
	fd.cb.on_close(fd.h, &ci);
	relay_finish(r, &st);
	/* 80 KB of data, but 8 MB of file: four leases of at most 2 MiB. */
	ck_assert_uint_ge(st.chunks, 4);
	relay_free(r);
	unlink(path);
	free(img);
}
END_TEST

/* A consumer and an idle job that check they never run at once. */
static atomic_int idle_running, replay_running, ran_together;
static atomic_int idle_calls, idle_budget;

static int busy_data(void *flow, enum imt_dir dir, const uint8_t *data,
		     size_t len, uint64_t offset, const struct tcp_meta *m)
{
	(void)flow;
	(void)dir;
	(void)data;
	(void)len;
	(void)offset;
	(void)m;
	atomic_store(&replay_running, 1);
	if (atomic_load(&idle_running))
		atomic_store(&ran_together, 1);
	atomic_store(&replay_running, 0);
	return 0;
}

static int idle_job(void *user)
{
	ck_assert_ptr_eq(user, &idle_calls);
	atomic_store(&idle_running, 1);
	if (atomic_load(&replay_running))
		atomic_store(&ran_together, 1);
	nanosleep(&(struct timespec){ 0, 100 * 1000 }, NULL);
	atomic_fetch_add(&idle_calls, 1);
	atomic_store(&idle_running, 0);
	return atomic_fetch_sub(&idle_budget, 1) > 1;
}

/* Waits up to 5 s for idle_calls to pass `above`, then until it stays
 * put for 30 ms; returns it. */
static int settled_idle_calls(int above)
{
	int n;

	for (int i = 0; i < 5000 && atomic_load(&idle_calls) <= above; i++)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	do {
		n = atomic_load(&idle_calls);
		nanosleep(&(struct timespec){ 0, 30 * 1000 * 1000 }, NULL);
	} while (atomic_load(&idle_calls) != n);
	return n;
}

/* Queues one chunk's worth (less than a chunk, handed over by the sync). */
static void queue_one_chunk(struct tcp_callbacks *cb, void *h, int from)
{
	static uint8_t block[1000];
	struct tcp_meta m = { .frame = 1 };

	for (int i = from; i < from + 100; i++)
		cb->on_data(h, IMT_C2S, block, sizeof(block), (uint64_t)i * 1000, &m);
}

START_TEST(idle_work_runs_between_chunks)
{
	/* The worker does the idle job only with nothing queued, never
	 * beside a replay, until the job says it is done; a new chunk
	 * gives it another call. */
	static const struct tcp_callbacks busy_cb = {
		.on_open = gated_open, .on_data = busy_data, .on_close = gated_close,
	};
	struct relay *r = relay_new(&busy_cb, NULL, 0);
	struct tcp_callbacks cb;
	struct tcp_flow_info info;
	struct tcp_close_info ci;
	void *h;
	int first;

	ck_assert_ptr_nonnull(r);
	atomic_store(&idle_calls, 0);
	atomic_store(&idle_budget, 5);
	relay_set_idle_work(r, idle_job, &idle_calls);
	relay_tcp_callbacks(r, &cb);
	memset(&info, 0, sizeof(info));
	h = cb.on_open(r, &info);
	queue_one_chunk(&cb, h, 0);
	relay_sync(r);
	/* Five calls, the last saying "done" (one more if the worker
	 * started after the job was set: it had nothing queued then). */
	first = settled_idle_calls(4);
	ck_assert_int_ge(first, 5);
	ck_assert_int_le(first, 6);
	queue_one_chunk(&cb, h, 100);
	relay_sync(r);
	ck_assert_int_eq(settled_idle_calls(first), first + 1);
	memset(&ci, 0, sizeof(ci));
	cb.on_close(h, &ci);
	relay_finish(r, NULL);
	relay_free(r);
	ck_assert_int_eq(atomic_load(&ran_together), 0);
}
END_TEST

static Suite *relay_suite(void)
{
	Suite *s = suite_create("relay");
	TCase *tc = tcase_create("relay");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, replays_every_call_in_order);
	tcase_add_test(tc, a_stopped_flow_gets_no_more_data);
	tcase_add_test(tc, sync_drains_the_queue);
	tcase_add_test(tc, leased_data_is_held_until_replayed);
	tcase_add_test(tc, idle_work_runs_between_chunks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(relay_suite());
}
