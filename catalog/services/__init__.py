"""All writes to the catalog, one module per stage. Keyword-only arguments; names are <thing>_<verb>.

`from catalog import services` gives every public name, as it always has.
"""

from catalog.services.cut import snippet_window, video_cut
from catalog.services.ingest import (
    DiscoveryReport,
    IngestRefused,
    clean_json,
    clean_text,
    download_policy,
    local_file_import,
    source_create,
    source_discover,
    sources_create,
    video_can_retry,
    video_download,
    video_retry,
    video_work_dir,
)
from catalog.services.live import live_segments_ready, live_segments_render, minute_render
from catalog.services.review import (
    ReviewOutcome,
    ReviewRefused,
    corrections_export,
    readings_verify,
    review_images,
    sighting_box_at,
    sighting_review,
)
from catalog.services.scan import scan_store, video_scan
from catalog.services.search import video_embed, video_index, video_tag
from catalog.services.work import DiskFull, VideoBusy, media_partials_remove, snippet_files_remove
from catalog.services.workers import (
    video_give_up_after_crashes,
    worker_forget,
    worker_heartbeat,
    worker_heartbeats_prune,
)

__all__ = [
    "DiscoveryReport",
    "DiskFull",
    "IngestRefused",
    "ReviewOutcome",
    "ReviewRefused",
    "VideoBusy",
    "clean_json",
    "clean_text",
    "corrections_export",
    "download_policy",
    "live_segments_ready",
    "live_segments_render",
    "local_file_import",
    "media_partials_remove",
    "minute_render",
    "readings_verify",
    "review_images",
    "scan_store",
    "sighting_box_at",
    "sighting_review",
    "snippet_files_remove",
    "snippet_window",
    "source_create",
    "source_discover",
    "sources_create",
    "video_can_retry",
    "video_cut",
    "video_download",
    "video_embed",
    "video_give_up_after_crashes",
    "video_index",
    "video_retry",
    "video_scan",
    "video_tag",
    "video_work_dir",
    "worker_forget",
    "worker_heartbeat",
    "worker_heartbeats_prune",
]
