// Where each token of a network's sequence lies: the per-token structure the prior is
// given (see gpt.h). Built from the tokenizer's chunk plan, so it exists for any
// architecture the tokenizer can lay out, including ones never seen in training.
#pragma once

#include "prior/gpt.h"
#include "tokenizer/chunking.h"

namespace igpg {

constexpr int64_t kStructureFeatures = 64;

// Structure of all L = n*l tokens, tensors with a leading batch dimension of 1.
TokenStructure tokenStructure(const ChunkPlan& plan, int64_t tokensPerChunk, int64_t numLayers);

// Positions [begin, begin+length) of a structure, (B, length, ...).
TokenStructure sliceStructure(const TokenStructure& s, int64_t begin, int64_t length);
TokenStructure expandStructure(const TokenStructure& s, int64_t batch);
// Cuts the L tokens of s (batch 1 or `batch`) into `parts` consecutive pieces of `length`
// tokens, the last one padded with copies of the last token's structure:
// (batch * parts, length, ...), the rows of one sample next to each other.
TokenStructure splitStructure(const TokenStructure& s, int64_t batch, int64_t parts, int64_t length);
TokenStructure catStructures(const std::vector<TokenStructure>& parts);  // along the batch
TokenStructure structureTo(const TokenStructure& s, torch::Device device);

}  // namespace igpg
