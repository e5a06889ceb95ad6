/* C tests of the track table: id continuity across model id switches, revival of lost tracks, ids never
 * reused across resets, refused frames (plain C99, no Python). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "vps_core.h"


enum { H = 8, W = 16 };

/* A 3x3 square of panoptic id `id` at column x (nothing if x < 0) on a road (class 0). */
static void draw(int32_t* pan, int x, int32_t id, int row) {
  int y, c;
  for (y = row; y < row + 3; ++y)
    for (c = x; x >= 0 && c < x + 3; ++c) pan[y * W + c] = id;
}

static int32_t last_ids[H * W]; /* track ids of the last update */

/* Track one frame; the track id at (y, x). */
static int32_t track_at(vps_tracker* t, int32_t* pan, int y, int x) {
  int32_t sem[H * W];
  CHECK(vps_tracker_update(t, pan, H, W, sem, last_ids) == VPS_OK);
  CHECK(sem[0] == pan[0] / 1000);
  return last_ids[y * W + x];
}

int main(void) {
  const int32_t things[2] = {11, 13};
  vps_tracker_config cfg = vps_tracker_default_config();
  vps_tracker* t = NULL;
  int32_t pan[H * W];
  int32_t first, id;
  int64_t next_id, seq_first, frame, count;
  vps_track tracks[4];
  int f;

  cfg.max_lost = 3;
  CHECK(vps_tracker_create(&cfg, things, 2, 1000, &t) == VPS_OK);
  memset(pan, 0, sizeof pan);
  draw(pan, 0, 11005, 0);
  first = track_at(t, pan, 0, 0);
  CHECK(first == 1);
  for (f = 1; f < 4; ++f) { /* moves one pixel a frame; the model switches its id from 5 to 7 at f = 2 */
    memset(pan, 0, sizeof pan);
    draw(pan, f, f < 2 ? 11005 : 11007, 0);
    CHECK(track_at(t, pan, 0, f) == first);
  }
  memset(pan, 0, sizeof pan); /* gone for two frames: lost, then revived */
  CHECK(track_at(t, pan, 0, 3) == 0);
  CHECK(vps_tracker_tracks(t, 1, tracks, 4, &count) == VPS_OK && count == 1 && tracks[0].id == first);
  CHECK(tracks[0].frames_since_seen == 1 && tracks[0].area == 9 && tracks[0].x0 == 3 && tracks[0].x1 == 6);
  CHECK(track_at(t, pan, 0, 3) == 0);
  draw(pan, 3, 11009, 0);
  draw(pan, 10, 13001, 4); /* a new object of another class */
  CHECK(track_at(t, pan, 0, 3) == first);
  id = last_ids[4 * W + 10];
  CHECK(id == 2);
  CHECK(vps_tracker_tracks(t, 0, tracks, 4, &count) == VPS_OK && count == 2 && tracks[0].age == 7);
  CHECK(tracks[1].id == 2 && tracks[1].class_id == 13 && tracks[1].age == 1);

  CHECK(vps_tracker_update(t, pan, H - 1, W, NULL, pan) == VPS_ERR_STATE); /* size change mid-sequence */
  CHECK(strstr(vps_last_error(), "reset") != NULL);
  pan[5] = -1;
  CHECK(vps_tracker_update(t, pan, H, W, NULL, pan) == VPS_ERR_ARGUMENT);
  pan[5] = 0;
  CHECK(vps_tracker_reset(t) == VPS_OK);
  CHECK(vps_tracker_counters(t, &next_id, &seq_first, &frame) == VPS_OK);
  CHECK(next_id == 3 && seq_first == 3 && frame == 0);
  CHECK(track_at(t, pan, 0, 3) == 3); /* never reused */
  vps_tracker_destroy(t);

  cfg.iou_threshold = 0.0;
  CHECK(vps_tracker_create(&cfg, things, 2, 1000, &t) == VPS_ERR_ARGUMENT);
  CHECK(strstr(vps_last_error(), "iou_threshold") != NULL);
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  else printf("test_tracker: all checks passed\n");
  return failures ? 1 : 0;
}
