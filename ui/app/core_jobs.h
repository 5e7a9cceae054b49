// The studio's jobs over the core: the Train page's trainer, the Generate page's generator
// and sample saver call the same core/jobs/pipelines.h functions as the igpg command line.
// Each runs on a job runner's worker thread and opens its own catalogue connection there.
#pragma once

namespace igpg::ui {

class MainWindow;

void installCoreJobs(MainWindow& window);

}  // namespace igpg::ui
