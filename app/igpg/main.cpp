#include "cli.h"

int main(int argc, char** argv) { return igpg::cli::runMain(argc, argv); }
