/* import_db.c - bulk person writes of an import (see import_db.h).
 *
 * SQLite: the rows go to a writer thread of the import's own, in batches
 * of SQ_BATCH, so that reading and checking the next lines (JSON, the
 * facts, on the caller's thread) and SQLite's inserts run on two cores at
 * once; the connection is used by one thread at a time (the caller's
 * again only once the writer is idle: db_import_flush, db_import_free).
 * A write error is kept and answered by the next call.  An import smaller
 * than one batch is written on the caller's thread at the flush.
 * PostgreSQL's are db/pg/import.c's. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/tokyo_time.h"
#include "db/import_db.h"
#include "db/internal.h"

#define SQ_BATCH 256

struct sq_batch {
	size_t n;
	struct db_person rows[SQ_BATCH];
};

struct db_import {
	struct db_conn *c;
	struct db_import_counts counts;
	struct dbpg_import *pg; /* PostgreSQL: the rows held back */
	/* updated_at of the last row, for its now */
	double now;
	char updated_at[32];
	/* SQLite: fill is the caller's; queued the writer's to write (NULL:
	 * none), idle the one it wrote last.  err and counts are the
	 * writer's while it runs, read under mu. */
	struct sq_batch *fill, *idle, *queued;
	enum db_result err;
	bool started, stop;
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
};

/* Writes b's rows in order, until an error (kept in im->err). */
static void sq_write(struct db_import *im, struct sq_batch *b,
		     struct db_import_counts *n, enum db_result *err)
{
	enum db_put_outcome outcome;
	size_t i;

	for (i = 0; i < b->n && *err == DB_OK; i++) {
		*err = dbsq_person_import(im->c, &b->rows[i], &outcome);
		if (*err != DB_OK)
			break;
		if (outcome == DB_PUT_CREATED)
			n->inserted++;
		else if (outcome == DB_PUT_REPLACED)
			n->updated++;
		else
			n->unchanged++;
	}
	b->n = 0;
}

static void *sq_writer(void *arg)
{
	struct db_import *im = arg;
	struct db_import_counts n;
	struct sq_batch *b;
	enum db_result err;

	pthread_mutex_lock(&im->mu);
	for (;;) {
		while (!im->queued && !im->stop)
			pthread_cond_wait(&im->work, &im->mu);
		if (!im->queued)
			break;
		b = im->queued;
		n = im->counts;
		err = im->err;
		pthread_mutex_unlock(&im->mu);
		sq_write(im, b, &n, &err);
		pthread_mutex_lock(&im->mu);
		im->counts = n;
		im->err = err;
		im->queued = NULL;
		im->idle = b;
		pthread_cond_signal(&im->done);
	}
	pthread_mutex_unlock(&im->mu);
	return NULL;
}

/* Waits until the writer has nothing queued; returns its error so far. */
static enum db_result sq_wait(struct db_import *im)
{
	enum db_result err;

	pthread_mutex_lock(&im->mu);
	while (im->queued)
		pthread_cond_wait(&im->done, &im->mu);
	err = im->err;
	pthread_mutex_unlock(&im->mu);
	return err;
}

/* Hands the full batch to the writer (started on the first) and takes
 * the one it wrote last. */
static enum db_result sq_hand_over(struct db_import *im)
{
	enum db_result err;

	if (!im->started) {
		if (pthread_create(&im->writer, NULL, sq_writer, im) != 0) {
			/* no thread: this one writes */
			sq_write(im, im->fill, &im->counts, &im->err);
			return im->err;
		}
		im->started = true;
	}
	pthread_mutex_lock(&im->mu);
	while (im->queued)
		pthread_cond_wait(&im->done, &im->mu);
	err = im->err;
	if (err == DB_OK) {
		im->queued = im->fill;
		im->fill = im->idle;
		im->idle = NULL;
		pthread_cond_signal(&im->work);
	}
	pthread_mutex_unlock(&im->mu);
	return err;
}

struct db_import *db_import_new(struct db_conn *c)
{
	struct db_import *im = calloc(1, sizeof *im);

	if (!im)
		return NULL;
	im->c = c;
	if (c->kind == DB_KIND_PG) {
		im->pg = dbpg_import_new(c);
		if (!im->pg) {
			free(im);
			return NULL;
		}
		return im;
	}
	im->fill = malloc(sizeof *im->fill);
	im->idle = malloc(sizeof *im->idle);
	if (!im->fill || !im->idle) {
		free(im->fill);
		free(im->idle);
		free(im);
		return NULL;
	}
	im->fill->n = 0;
	im->idle->n = 0;
	pthread_mutex_init(&im->mu, NULL);
	pthread_cond_init(&im->work, NULL);
	pthread_cond_init(&im->done, NULL);
	return im;
}

enum db_result db_import_person(struct db_import *im, struct db_person *p,
				double now)
{
	struct sq_batch *b = im->fill;

	/* what db_person_put sets, set once here (on the caller's thread:
	 * SQLite's writer has the longer part) */
	db_person_etag(p, p->etag);
	if (now != im->now || !im->updated_at[0]) {
		im->now = now;
		base_tokyo_time(now, im->updated_at);
	}
	memcpy(p->updated_at, im->updated_at, sizeof p->updated_at);
	if (im->pg)
		return dbpg_import_person(im->pg, p, &im->counts);
	if (b->n == SQ_BATCH) {
		/* full still: the writer failed (its error again) */
		enum db_result r = sq_hand_over(im);

		if (r != DB_OK)
			return r;
		b = im->fill;
	}
	b->rows[b->n] = *p;
	if (++b->n < SQ_BATCH)
		return DB_OK;
	return sq_hand_over(im);
}

enum db_result db_import_flush(struct db_import *im,
			       struct db_import_counts *out)
{
	enum db_result r = DB_OK;

	if (im->pg) {
		r = dbpg_import_flush(im->pg, &im->counts);
	} else {
		/* the writer idle, the rest written here */
		r = im->started ? sq_wait(im) : im->err;
		if (r == DB_OK)
			sq_write(im, im->fill, &im->counts, &im->err);
		r = im->err;
	}
	*out = im->counts;
	return r;
}

void db_import_free(struct db_import *im)
{
	if (!im)
		return;
	dbpg_import_free(im->pg);
	if (!im->pg) {
		if (im->started) {
			pthread_mutex_lock(&im->mu);
			im->stop = true;
			pthread_cond_signal(&im->work);
			pthread_mutex_unlock(&im->mu);
			pthread_join(im->writer, NULL);
		}
		pthread_mutex_destroy(&im->mu);
		pthread_cond_destroy(&im->work);
		pthread_cond_destroy(&im->done);
		free(im->fill);
		free(im->idle);
	}
	free(im);
}
