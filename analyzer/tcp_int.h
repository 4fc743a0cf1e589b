/*
 * tcp_int.h - internals of the TCP stage shared by tcp.c (packets and
 * the public calls), tcp_stream.c (one direction's bytes), tcp_flow.c
 * (the flow table, lists and lifetime) and tcp_store.c (the hold tree
 * and the recently delivered bytes).  Nothing outside the stage includes
 * this.
 */
#ifndef IMT_TCP_INT_H
#define IMT_TCP_INT_H

#include <stdint.h>

#include "mem_pool.h"
#include "tcp.h"

/* Zeek-style history letters, in the order of enum tcp_hist. */
#define TCP_HIST_CODES "SHADFRGTOW"
enum tcp_hist {
	TH_SYN, TH_SYNACK, TH_ACK, TH_DATA, TH_FIN, TH_RST, TH_GAP,
	TH_RETRANS, TH_OVERLAP, TH_OOO, TH__COUNT
};
#define TCP_HIST_MAX (2 * TH__COUNT)

/* Recently delivered bytes kept per direction for overlap checks: the
 * ring starts at the first size and doubles as bytes come. */
#define TCP_RECENT_MIN 256u
#define TCP_RECENT_MAX 65536u
/* Delivery records (offset, frame) kept per direction (at most 128: the
 * counts are bytes). */
#define TCP_NREC 32
/* Deliveries kept by reference under the stage's lease (capture.h) per
 * direction, instead of copied into the ring (at most 128, as above). */
#define TCP_NREF 64
/* Both lists start with this many entries and double up to the above, so
 * that a direction that sent a few lines holds a few records; the
 * references' first ring is cut from a pool (no allocator header), and
 * is as large as a direction that logged in and waits needs. */
#define TCP_NLIST_FIRST 2u
#define TCP_NREF_FIRST 4u
/* Longest life of a tombstone, like TIME_WAIT (2 MSL). */
#define TCP_TOMB_SECS 120
/* An ACK that jumps further than this is taken as bogus, not as loss. */
#define TCP_MAX_ACK_JUMP (1 << 30)
#define TCP_NS_PER_SEC 1000000000LL
/*
 * Reorder window: a packet that ACKs bytes of the peer the capture has
 * not shown yet is held back, with the packets of the flow after it,
 * until those bytes come (capture points that merge several queues show
 * an ACK before the segment it acknowledges) or until this many packets
 * of the flow were held, this much capture time passed, the hold caps
 * are reached, a FIN or RST comes, or the flow ends.  Then the held
 * packets are processed in capture order and the hole becomes a gap.
 */
#define TCP_REORDER_PACKETS 16u
#define TCP_REORDER_NS (200 * 1000000LL)
#define TCP_INITIAL_BUCKETS 256u

enum tcp_list { TL_TOMB, TL_EMBRYO, TL_OPEN, TL__COUNT };

/* A held piece of one direction's stream.  Pieces never overlap. */
struct tcp_node {
	struct tcp_node *left, *right;
	uint64_t off;            /* stream offset of data[skip] */
	uint64_t frame;          /* packet the bytes came from */
	uint32_t len;            /* bytes still held */
	uint32_t skip;           /* bytes trimmed from the front */
	uint32_t cost;           /* charged against the hold caps */
	int height;
	int missing;             /* snaplen-cut bytes: a gap, no data */
	uint8_t data[];
};

/* A packet held back by the reorder window, payload copied. */
struct tcp_defer {
	struct tcp_defer *next;
	struct ip_segment seg;   /* payload points at data[] */
	struct tcp_meta m;
	int side;
	uint32_t cost;
	uint8_t data[];
};

struct tcp_rec {
	uint64_t off, frame;
};

/* Delivered bytes kept under the stage's lease: [off, off + len), and
 * the frame that delivered them (tcp_ref_len(), tcp_ref_frame()): 24
 * bytes, as every open direction keeps a few. */
struct tcp_ref {
	uint64_t off;
	const uint8_t *p;
	uint32_t frame_lo;
	uint16_t frame_hi;       /* frames past 2^48 are kept as 2^48 - 1 */
	uint16_t len_m1;         /* len - 1: 1 to TCP_RECENT_MAX */
};

static inline uint64_t tcp_ref_len(const struct tcp_ref *f)
{
	return (uint64_t)f->len_m1 + 1;
}

static inline uint64_t tcp_ref_frame(const struct tcp_ref *f)
{
	return (uint64_t)f->frame_hi << 32 | f->frame_lo;
}

/*
 * The most recently delivered bytes of a direction, for comparing a
 * retransmission with the first copy: leasable deliveries by reference
 * (struct tcp_refs, in the direction: the newest TCP_NREF, up to
 * TCP_RECENT_MAX bytes, each with its frame), the others copied into the
 * ring [end - fill, end), with records of the frames that delivered them
 * (made at the first copy: a direction read from a mapped file has
 * none).  The two never hold the same offset, and the references are
 * always the newer (copies come first, or all at once when the lease
 * goes), so the records' offsets only grow.
 */
struct tcp_recent {
	uint64_t end;
	uint32_t cap;            /* a power of two */
	uint32_t fill;
	struct tcp_rec *rec;     /* a ring of rec_cap (owned) */
	uint8_t nrec, rhead, rec_cap;   /* at most TCP_NREC */
	uint8_t buf[];
};

struct tcp_refs {
	struct tcp_ref *ring;    /* of cap (owned), or NULL */
	uint32_t bytes;          /* at most TCP_RECENT_MAX */
	uint8_t n, head, cap;    /* at most TCP_NREF */
};

struct tcp_side {
	uint32_t isn;            /* sequence number of stream offset 0 */
	uint32_t syn_seq;        /* of its SYN, when syn */
	uint64_t off;            /* next expected stream offset */
	uint64_t fin_off;        /* stream offset the FIN follows */
	struct tcp_node *held;
	uint64_t held_cost;
	struct tcp_recent *recent;
	struct tcp_refs refs;
	uint64_t bytes, gap_bytes, packets;
	unsigned has_base : 1, syn : 1, fin : 1, limit_told : 1,
		 after_close_told : 1;
	uint16_t hist;           /* history letters recorded (bit set) */
};

/* Which packet of the flow a stamp is (tcp_stamp_set(), tcp_stamp()). */
enum tcp_stamp_of { TS_FIRST, TS_LAST };

/* Thousands of flows may be open: the fields are ordered, and the small
 * ones a byte, so that none pads another (368 bytes). */
struct tcp_flow {
	/* What a lookup reads first: a chain's next flow and the hash (a
	 * flow of another hash is passed over on this line alone), then
	 * the endpoints. */
	struct tcp_flow *hnext;
	uint64_t hash;
	struct ip_endpoint ep[2]; /* ep[0] sent the first packet */
	struct tcp_flow *prev, *next;
	int64_t last_ns;
	/* The first and the last packet's meta (enum tcp_stamp_of), kept
	 * without the lessor, which is NULL in both. */
	uint64_t st_frame[2];
	int64_t st_sec[2];
	uint32_t st_nsec[2];
	void *handle;
	struct tcp_side s[2];
	/* Both are rare, so a flow holds only a pointer to each (an open
	 * flow's size bounds a flood of them): the reorder window's packets
	 * held back (tcp_reorder.c), and the packets the snapshot length
	 * cut, told once at the close.  NULL until needed. */
	struct tcp_hold *hold;
	struct tcp_trunc *trunc;
	unsigned oriented : 1, opened : 1, stopped : 1, saw_syn : 1,
		 replaying : 1,
		 shaking : 1;    /* counted in nshaking (tcp_shaking_update) */
	uint8_t list;            /* enum tcp_list */
	uint8_t client_side;
	uint8_t how;             /* enum tcp_orient */
	uint8_t st_nano[2];
	uint8_t nhist;
	uint8_t hist[TCP_HIST_MAX];
};

static inline void tcp_stamp_set(struct tcp_flow *f, enum tcp_stamp_of i,
				 const struct tcp_meta *m)
{
	f->st_frame[i] = m->frame;
	f->st_sec[i] = m->ts_sec;
	f->st_nsec[i] = m->ts_nsec;
	f->st_nano[i] = (uint8_t)m->ts_nano;
}

/* The meta of the flow's first or last packet. */
static inline struct tcp_meta tcp_stamp(const struct tcp_flow *f,
					enum tcp_stamp_of i)
{
	return (struct tcp_meta){
		.frame = f->st_frame[i], .ts_sec = f->st_sec[i],
		.ts_nsec = f->st_nsec[i], .ts_nano = f->st_nano[i],
	};
}

/* Packets held back, in capture order, while side hole lacks bytes
 * below upto. */
struct tcp_hold {
	struct tcp_defer *head, *tail;
	uint32_t n;
	int hole;
	uint64_t upto, cost;
	int64_t start_ns;
};

struct tcp_trunc {
	uint64_t n, bytes, frame, off;
	int side;
};

struct tcp_lru {
	struct tcp_flow *head, *tail;
};

struct tcp_reasm {
	struct imt_limits lim;
	uint16_t *ports;
	size_t nports;
	struct tcp_callbacks cb;
	void *user;
	/* Flows, and the first ring of references of each direction that
	 * carried data, are cut from 2 MB blocks: a capture with tens of
	 * thousands open pays neither the allocator's search nor a page
	 * fault per 4 KB (mem_pool.h). */
	struct mem_pool flow_pool;
	struct mem_pool ref_pool;  /* rings of TCP_NREF_FIRST references */
	struct tcp_flow **bucket;
	uint32_t nbucket;        /* a power of two */
	/* The hashes of the last hints, newest at hint_at (tcp_reasm_hint);
	 * zero: none. */
	uint64_t hint[TCP_HINT_DEPTH];
	unsigned hint_at;
	uint32_t nflows;         /* in the table, tombstones included */
	uint32_t nshaking;       /* not open, both SYNs seen: sessions to come */
	uint64_t seed;
	struct tcp_lru lru[TL__COUNT];
	int64_t now_ns;
	int have_now;
	int64_t expire_at;       /* no flow is due before this (tcp_expire) */
	int expire_known;
	uint64_t held_cost;
	uint64_t recent_bytes;
	struct cap_lease *lease; /* what the rings refer to lies under it */
	int embryo_evict_told;
	struct tcp_stats st;
};

/* The segment being processed, for evidence and once-only counters. */
struct tcp_cur {
	const struct tcp_meta *m;
	uint64_t frame;
	struct cap_reader *lessor; /* of the segment's payload, or NULL */
	int retrans_counted;
	int mismatch_told;
};

/* The same wrap-safe difference the SEQ_ macros compare with. */
static inline int32_t tcp_seq_delta(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static inline uint32_t tcp_next_seq(const struct tcp_side *sd)
{
	return sd->isn + (uint32_t)sd->off;
}

static inline uint64_t tcp_min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline enum imt_dir tcp_dir_of(const struct tcp_flow *f, int s)
{
	return s == f->client_side ? IMT_C2S : IMT_S2C;
}

/* tcp_stream.c */
/* Notes history letter h for side s once (Zeek's conn history). */
void tcp_hist(struct tcp_flow *f, int s, enum tcp_hist h);
/* Reports a finding of flow f from side s (-1: the flow) to the
 * consumer, once the flow was handed over; frame 0 means m's frame. */
void tcp_finding(struct tcp_reasm *t, struct tcp_flow *f, int s,
		 struct imt_finding_report *rep, const struct tcp_meta *m);
/* Moves side s's expected offset to upto, delivering held data and
 * reporting the holes between. */
void tcp_flush_to(struct tcp_reasm *t, struct tcp_flow *f, int s,
		  uint64_t upto, const struct tcp_meta *m);
/* Delivers everything side s holds, holes reported as gaps. */
void tcp_flush_all(struct tcp_reasm *t, struct tcp_flow *f, int s,
		   const struct tcp_meta *m);
/* Places the payload of seg, sent by side s: delivered, held or
 * compared with what was delivered. */
void tcp_data(struct tcp_reasm *t, struct tcp_flow *f, int s,
	      const struct ip_segment *seg, struct tcp_cur *c);
/* The peer of side s acknowledged up to ack: side s's bytes missing
 * below it were received, so they become a gap. */
void tcp_ack(struct tcp_reasm *t, struct tcp_flow *f, int s,
	     uint32_t ack, const struct tcp_meta *m);

/* tcp.c */
/* Processes one packet of flow f sent by side s, now. */
void tcp_packet_now(struct tcp_reasm *t, struct tcp_flow *f, int s,
		    const struct ip_segment *seg, const struct tcp_meta *m);
/* A packet for a closed flow: 1 when the tombstone absorbs it, 0 when
 * it is a new SYN that starts a new flow on the tuple. */
int tcp_tomb_absorbs(struct tcp_reasm *t, struct tcp_flow *f, int s,
		     const struct ip_segment *seg, const struct tcp_meta *m);

/* tcp_reorder.c */
/* Returns 1 when the reorder window took the packet (held back, or
 * processed at once as the bytes it waits for), 0 when the caller
 * processes it now (the window, if any, was closed first). */
int tcp_reorder_take(struct tcp_reasm *t, struct tcp_flow *f, int s,
		     const struct ip_segment *seg, const struct tcp_meta *m);
/* Processes the packets held back for f, in capture order. */
void tcp_reorder_release(struct tcp_reasm *t, struct tcp_flow *f);
/* Frees the packets held back for f without processing them. */
void tcp_reorder_free(struct tcp_reasm *t, struct tcp_flow *f);

/* tcp_flow.c */
void tcp_flow_release_buffers(struct tcp_reasm *t, struct tcp_flow *f);
/* Counts a packet of side s that the snapshot length cut. */
void tcp_count_truncated(struct tcp_flow *f, int s, const struct ip_segment *seg,
			 const struct tcp_meta *m);
/* Takes f out of the table and its list and frees it. */
void tcp_flow_free(struct tcp_reasm *t, struct tcp_flow *f);
/* Flushes both sides and tells the consumer the flow closed, m the
 * closing packet (NULL: the flow's last packet, after those the reorder
 * window held back); the flow stays in the table. */
void tcp_close(struct tcp_reasm *t, struct tcp_flow *f,
	       enum tcp_close_reason why, const struct tcp_meta *m);
/* Closes f and keeps it as a tombstone without buffers. */
void tcp_make_tomb(struct tcp_reasm *t, struct tcp_flow *f,
		   enum tcp_close_reason why, const struct tcp_meta *m);
/* Closes or frees the flows whose time is up at t->now_ns. */
void tcp_expire(struct tcp_reasm *t);
/* A new embryonic flow from src to dst, evicting one when the table is
 * full; NULL only when out of memory. */
struct tcp_flow *tcp_flow_new(struct tcp_reasm *t,
			      const struct ip_endpoint *src,
			      const struct ip_endpoint *dst,
			      const struct tcp_meta *m);

/* tcp_store.c */
struct tcp_node *tcp_avl_insert(struct tcp_node *root,
				struct tcp_node *n);
struct tcp_node *tcp_avl_pop_min(struct tcp_node *root,
				 struct tcp_node **min_r);
struct tcp_node *tcp_avl_min(struct tcp_node *n);
struct tcp_node *tcp_avl_floor(struct tcp_node *n, uint64_t off);
struct tcp_node *tcp_avl_after(struct tcp_node *n, uint64_t off);
void tcp_node_free(struct tcp_reasm *t, struct tcp_side *sd,
		   struct tcp_node *n);
void tcp_avl_free(struct tcp_reasm *t, struct tcp_side *sd,
		  struct tcp_node *n);
void tcp_node_trim(struct tcp_reasm *t, struct tcp_node *n, uint64_t k);
void tcp_recent_add(struct tcp_reasm *t, struct tcp_side *sd,
		    const uint8_t *data, uint64_t len, uint64_t off,
		    uint64_t frame, struct cap_reader *lessor);
/* Copies what the ring refers to into it: the lease goes. */
void tcp_recent_unstable(struct tcp_reasm *t, struct tcp_side *sd);
void tcp_recent_free(struct tcp_reasm *t, struct tcp_side *sd);
uint64_t tcp_recent_frame(const struct tcp_side *sd, uint64_t off);
int tcp_recent_differs(const struct tcp_side *sd, uint64_t off,
		       const uint8_t *q, uint64_t len, uint64_t *at_r);

/* tcp_flow.c: the table and the lists */
uint64_t tcp_flow_hash(const struct tcp_reasm *t,
		       const struct ip_endpoint *a,
		       const struct ip_endpoint *b);
void tcp_ep_norm(struct ip_endpoint *dst, const struct ip_endpoint *src);
void tcp_lru_unlink(struct tcp_reasm *t, struct tcp_flow *f);
void tcp_lru_append(struct tcp_reasm *t, struct tcp_flow *f, int list);
/* Counts f in t->nshaking while it is on the embryo list with both SYNs
 * seen, a handshake under way; called where either changes. */
void tcp_shaking_update(struct tcp_reasm *t, struct tcp_flow *f);
void tcp_touch(struct tcp_reasm *t, struct tcp_flow *f, int list);
void tcp_rehash(struct tcp_reasm *t);
struct tcp_flow *tcp_lookup(struct tcp_reasm *t,
			    const struct ip_endpoint *src,
			    const struct ip_endpoint *dst, int *side_r);

#endif
