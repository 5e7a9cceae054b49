#include "formats/pytorch_pickle.h"

#include "common/error.h"

#include <torch/torch.h>

#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <unordered_map>

namespace igpg {

namespace {

// --- the globals a state dict is made of ----------------------------------------------

enum class Callable { OrderedDict, RebuildTensor, RebuildParameter, RebuildParameterWithState, Storage };

struct AllowedGlobal {
  const char* module;
  const char* name;
  Callable callable;
  torch::ScalarType dtype;  // the element type, for Callable::Storage
};

const AllowedGlobal kAllowedGlobals[] = {
    {"collections", "OrderedDict", Callable::OrderedDict, torch::kFloat32},
    {"torch._utils", "_rebuild_tensor_v2", Callable::RebuildTensor, torch::kFloat32},
    {"torch._utils", "_rebuild_parameter", Callable::RebuildParameter, torch::kFloat32},
    {"torch._utils", "_rebuild_parameter_with_state", Callable::RebuildParameterWithState, torch::kFloat32},
    {"torch", "DoubleStorage", Callable::Storage, torch::kFloat64},
    {"torch", "FloatStorage", Callable::Storage, torch::kFloat32},
    {"torch", "HalfStorage", Callable::Storage, torch::kFloat16},
    {"torch", "BFloat16Storage", Callable::Storage, torch::kBFloat16},
    {"torch", "LongStorage", Callable::Storage, torch::kInt64},
    {"torch", "IntStorage", Callable::Storage, torch::kInt32},
    {"torch", "ShortStorage", Callable::Storage, torch::kInt16},
    {"torch", "CharStorage", Callable::Storage, torch::kInt8},
    {"torch", "ByteStorage", Callable::Storage, torch::kUInt8},
    {"torch", "BoolStorage", Callable::Storage, torch::kBool},
};

const AllowedGlobal* storageClassOf(torch::ScalarType dtype) {
  for (const auto& g : kAllowedGlobals)
    if (g.callable == Callable::Storage && g.dtype == dtype) return &g;
  return nullptr;
}

// Names from a file go into one-line error messages: no control characters, bounded length.
std::string printable(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 120)) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  return text.size() > 120 ? out + "..." : out;
}

bool validUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

// --- pickle opcodes (CPython Lib/pickle.py) -------------------------------------------

namespace op {
constexpr uint8_t MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', BININT = 'J', BININT1 = 'K',
                  BININT2 = 'M', NONE = 'N', PERSID = 'P', BINPERSID = 'Q', REDUCE = 'R', BINSTRING = 'T',
                  SHORT_BINSTRING = 'U', BINUNICODE = 'X', APPEND = 'a', BUILD = 'b', GLOBAL = 'c', DICT = 'd',
                  EMPTY_DICT = '}', APPENDS = 'e', BINGET = 'h', INST = 'i', LONG_BINGET = 'j', LIST = 'l',
                  EMPTY_LIST = ']', BINPUT = 'q', LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')',
                  SETITEMS = 'u', BINFLOAT = 'G', PROTO = 0x80, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87,
                  EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a,
                  LONG4 = 0x8b, BINBYTES = 'B', SHORT_BINBYTES = 'C', SHORT_BINUNICODE = 0x8c,
                  BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95;
}  // namespace op

// --- the unpickler ----------------------------------------------------------------------

enum class Kind : uint8_t { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor };

// For messages: "an int", "a tensor", "None".
const char* described(Kind kind) {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "a bool";
    case Kind::Int: return "an int";
    case Kind::Float: return "a float";
    case Kind::String: return "a str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "a tuple";
    case Kind::List: return "a list";
    case Kind::Dict: return "a dict";
    case Kind::Global: return "a class or function";
    case Kind::Storage: return "a storage";
    case Kind::Tensor: return "a tensor";
  }
  return "an object";
}

// Objects live in the unpickler's arena and refer to each other by pointer, so shared
// (memoized) and even cyclic references cost nothing and tear down without recursion.
struct Value {
  explicit Value(Kind k) : kind(k) {}
  Kind kind;
  int64_t integer = 0;                    // Bool, Int
  double real = 0;                        // Float
  std::string text;                       // String, Bytes; Storage: its record key
  std::vector<Value*> items;              // Tuple, List; Dict: key, value, key, value, ...
  const AllowedGlobal* global = nullptr;  // Global
  torch::Tensor tensor;                   // Storage (1-D, all of it), Tensor
};

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const StorageLoader& storages, const std::string& source)
      : data_(data), size_(size), loadStorage_(storages), source_(source) {
    true_.integer = 1;
  }

  Value* run();

 private:
  [[noreturn]] void bad(const std::string& message) const {
    fail(ErrorKind::Format, source_, "byte " + std::to_string(opStart_) + ": " + message);
  }

  const uint8_t* take(uint64_t n) {
    if (n > size_ - pos_)
      bad("truncated: needs " + std::to_string(n) + " more bytes, has " + std::to_string(size_ - pos_));
    const uint8_t* p = data_ + pos_;
    pos_ += size_t(n);
    return p;
  }
  uint64_t littleEndian(size_t n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
    return v;
  }
  std::string bytes(uint64_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), size_t(n));
  }
  std::string line() {
    const void* end = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (!end) bad("truncated: a text argument has no end of line");
    std::string s = bytes(size_t(static_cast<const uint8_t*>(end) - (data_ + pos_)));
    ++pos_;
    return s;
  }
  // Two's-complement little-endian integers of LONG1/LONG4 (and BININT).
  int64_t signedInteger(uint64_t nbytes) {
    if (nbytes > 8) bad("integer of " + std::to_string(nbytes) + " bytes does not fit 64 bits");
    if (nbytes == 0) return 0;
    uint64_t v = littleEndian(size_t(nbytes));
    if (nbytes < 8 && (v >> (8 * nbytes - 1)) & 1) v |= ~uint64_t(0) << (8 * nbytes);
    return static_cast<int64_t>(v);
  }

  Value* make(Kind kind) {
    if (arena_.size() >= kPickleMaxObjects) bad("more than " + std::to_string(kPickleMaxObjects) + " objects");
    arena_.emplace_back(kind);
    return &arena_.back();
  }
  Value* makeString(Kind kind, std::string text) {
    Value* v = make(kind);
    v->text = std::move(text);
    return v;
  }
  Value* makeInt(Kind kind, int64_t integer) {
    Value* v = make(kind);
    v->integer = integer;
    return v;
  }
  Value* makeSequence(Kind kind, std::vector<Value*> items) {
    Value* v = make(kind);
    v->items = std::move(items);
    return v;
  }

  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Value* v) {
    if (stack_.size() >= kPickleMaxStack) bad("stack deeper than " + std::to_string(kPickleMaxStack));
    stack_.push_back(v);
  }
  Value* top() {
    if (stack_.size() <= floor()) bad("stack underflow");
    return stack_.back();
  }
  Value* pop() {
    Value* v = top();
    stack_.pop_back();
    return v;
  }
  std::vector<Value*> popMark() {
    if (marks_.empty()) bad("no MARK to pop to");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + long(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  void memoize(uint64_t index) {
    if (memo_.size() >= kPickleMaxObjects && !memo_.count(index))
      bad("memo larger than " + std::to_string(kPickleMaxObjects) + " entries");
    memo_[index] = top();
  }
  Value* recall(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) bad("memo entry " + std::to_string(index) + " was never stored");
    return it->second;
  }
  Value* expect(Value* v, Kind kind, const std::string& what) {
    if (v->kind != kind) bad(what + " is " + described(v->kind) + ", expected " + described(kind));
    return v;
  }
  Value* container(Kind kind, const char* opname) {
    Value* target = top();
    if (target->kind != kind) bad(std::string(opname) + " on " + described(target->kind));
    return target;
  }
  void addPairs(Value* dict, const std::vector<Value*>& items) {
    if (items.size() % 2) bad("dict items come in an odd number");
    dict->items.insert(dict->items.end(), items.begin(), items.end());
  }

  Value* resolveGlobal(const std::string& module, const std::string& name);
  Value* reduce(Value* callable, Value* args);
  Value* rebuildTensor(const std::vector<Value*>& args);
  Value* persistentLoad(Value* pid);

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t opStart_ = 0;
  const StorageLoader& loadStorage_;
  std::string source_;
  std::deque<Value> arena_;
  Value none_{Kind::None}, true_{Kind::Bool}, false_{Kind::Bool};  // singletons, as in Python
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value*> memo_;
  std::map<std::string, Value*> storages_;
};

Value* Unpickler::resolveGlobal(const std::string& module, const std::string& name) {
  for (const auto& g : kAllowedGlobals)
    if (module == g.module && name == g.name) {
      Value* v = make(Kind::Global);
      v->global = &g;
      return v;
    }
  fail(ErrorKind::Unsafe, source_,
       "refusing global '" + printable(module) + "." + printable(name) +
           "': a state dict may only use OrderedDict, tensors and typed storages (what "
           "torch.load(weights_only=True) allows); loading this file could run code");
}

Value* Unpickler::persistentLoad(Value* pid) {
  expect(pid, Kind::Tuple, "persistent id");
  const auto& f = pid->items;
  if (f.size() != 5 || f[0]->kind != Kind::String || f[0]->text != "storage")
    bad("persistent id is not ('storage', type, key, location, numel)");
  Value* type = expect(f[1], Kind::Global, "storage type");
  if (type->global->callable != Callable::Storage)
    bad(std::string("storage type ") + type->global->module + "." + type->global->name + " is not a storage class");
  const std::string& key = expect(f[2], Kind::String, "storage key")->text;
  expect(f[3], Kind::String, "storage location");
  const int64_t numel = expect(f[4], Kind::Int, "storage size")->integer;
  if (numel < 0) bad("storage '" + printable(key) + "' has a negative size");
  const torch::ScalarType dtype = type->global->dtype;

  auto it = storages_.find(key);
  if (it != storages_.end()) {
    const torch::Tensor& known = it->second->tensor;
    if (known.scalar_type() != dtype || known.numel() != numel)
      bad("storage '" + printable(key) + "' is described twice with different types or sizes");
    return it->second;
  }
  // Every storage loads onto the CPU, whatever device it was saved from.
  Value* storage = makeString(Kind::Storage, key);
  storage->tensor = loadStorage_(key, dtype, numel);
  storages_[key] = storage;
  return storage;
}

Value* Unpickler::rebuildTensor(const std::vector<Value*>& args) {
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.size() != 6 && args.size() != 7)
    bad("_rebuild_tensor_v2 takes 6 or 7 arguments, got " + std::to_string(args.size()));
  Value* storage = expect(args[0], Kind::Storage, "tensor storage");
  const int64_t offset = expect(args[1], Kind::Int, "storage offset")->integer;
  const auto& sizeItems = expect(args[2], Kind::Tuple, "tensor size")->items;
  const auto& strideItems = expect(args[3], Kind::Tuple, "tensor stride")->items;
  expect(args[4], Kind::Bool, "requires_grad");
  expect(args[5], Kind::Dict, "backward hooks");
  if (sizeItems.size() != strideItems.size()) bad("tensor size and stride differ in length");

  std::vector<int64_t> sizes, strides;
  int64_t numel = 1, last = offset;
  for (size_t i = 0; i < sizeItems.size(); ++i) {
    sizes.push_back(expect(sizeItems[i], Kind::Int, "tensor size")->integer);
    strides.push_back(expect(strideItems[i], Kind::Int, "tensor stride")->integer);
    if (sizes.back() < 0 || strides.back() < 0) bad("tensor size or stride is negative");
    int64_t reach = 0;
    if (sizes.back() > 0 && (__builtin_mul_overflow(sizes.back() - 1, strides.back(), &reach) ||
                             __builtin_add_overflow(last, reach, &last)))
      bad("tensor view overflows 64 bits");
    if (__builtin_mul_overflow(numel, sizes.back(), &numel)) bad("tensor size overflows 64 bits");
  }
  const int64_t storageNumel = storage->tensor.numel();
  const auto badView = [&](const std::string& problem) {
    bad("tensor view (offset " + std::to_string(offset) + ", size " + c10::str(c10::IntArrayRef(sizes)) +
        ", stride " + c10::str(c10::IntArrayRef(strides)) + ") of storage '" + printable(storage->text) + "' (" +
        std::to_string(storageNumel) + " elements) " + problem);
  };
  if (offset < 0) badView("starts before the storage");
  if (numel > 0 ? last >= storageNumel : offset > storageNumel) badView("reaches past the end of the storage");

  Value* tensor = make(Kind::Tensor);
  tensor->tensor = storage->tensor.as_strided(sizes, strides, offset);
  return tensor;
}

Value* Unpickler::reduce(Value* callable, Value* args) {
  expect(callable, Kind::Global, "REDUCE callable");
  const auto& a = expect(args, Kind::Tuple, "REDUCE arguments")->items;
  const AllowedGlobal& g = *callable->global;
  switch (g.callable) {
    case Callable::OrderedDict:
      if (!a.empty()) bad("OrderedDict is called with arguments");
      return make(Kind::Dict);
    case Callable::RebuildTensor:
      return rebuildTensor(a);
    case Callable::RebuildParameter:          // (data, requires_grad, backward_hooks)
    case Callable::RebuildParameterWithState:  // (data, requires_grad, backward_hooks, state)
      if (a.size() != (g.callable == Callable::RebuildParameter ? 3u : 4u))
        bad(std::string(g.name) + " is called with " + std::to_string(a.size()) + " arguments");
      return expect(a[0], Kind::Tensor, "parameter data");
    case Callable::Storage:
      break;
  }
  bad(std::string(g.module) + "." + g.name + " is only valid in a persistent id, not called");
}

Value* Unpickler::run() {
  while (pos_ < size_) {
    opStart_ = pos_;
    const uint8_t code = data_[pos_++];
    switch (code) {
      case op::PROTO: {
        const uint8_t protocol = *take(1);
        if (protocol > 5) bad("pickle protocol " + std::to_string(protocol) + " is newer than 5");
        break;
      }
      case op::FRAME:  // frames only group opcodes for buffered reading
        if (littleEndian(8) > size_ - pos_) bad("frame reaches past the end of the pickle");
        break;
      case op::STOP:
        return pop();

      case op::MARK:
        if (marks_.size() >= kPickleMaxStack) bad("too many nested MARKs");
        marks_.push_back(stack_.size());
        break;
      case op::POP:
        if (!marks_.empty() && stack_.size() == marks_.back()) marks_.pop_back();  // as CPython does
        else pop();
        break;
      case op::POP_MARK: popMark(); break;
      case op::DUP: push(top()); break;

      case op::NONE: push(&none_); break;
      case op::NEWTRUE: push(&true_); break;
      case op::NEWFALSE: push(&false_); break;
      case op::BININT1: push(makeInt(Kind::Int, int64_t(littleEndian(1)))); break;
      case op::BININT2: push(makeInt(Kind::Int, int64_t(littleEndian(2)))); break;
      case op::BININT: push(makeInt(Kind::Int, signedInteger(4))); break;
      case op::LONG1: push(makeInt(Kind::Int, signedInteger(littleEndian(1)))); break;
      case op::LONG4: push(makeInt(Kind::Int, signedInteger(littleEndian(4)))); break;
      case op::BINFLOAT: {
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];  // big-endian
        Value* v = make(Kind::Float);
        std::memcpy(&v->real, &bits, 8);
        push(v);
        break;
      }

      case op::SHORT_BINUNICODE:
      case op::SHORT_BINSTRING: push(makeString(Kind::String, bytes(littleEndian(1)))); break;
      case op::BINUNICODE: push(makeString(Kind::String, bytes(littleEndian(4)))); break;
      case op::BINUNICODE8: push(makeString(Kind::String, bytes(littleEndian(8)))); break;
      case op::BINSTRING: {
        const int64_t n = signedInteger(4);
        if (n < 0) bad("negative string length");
        push(makeString(Kind::String, bytes(uint64_t(n))));
        break;
      }
      case op::SHORT_BINBYTES: push(makeString(Kind::Bytes, bytes(littleEndian(1)))); break;
      case op::BINBYTES: push(makeString(Kind::Bytes, bytes(littleEndian(4)))); break;
      case op::BINBYTES8: push(makeString(Kind::Bytes, bytes(littleEndian(8)))); break;

      case op::EMPTY_TUPLE: push(make(Kind::Tuple)); break;
      case op::TUPLE: push(makeSequence(Kind::Tuple, popMark())); break;
      case op::TUPLE1:
      case op::TUPLE2:
      case op::TUPLE3: {
        std::vector<Value*> items(size_t(code - op::TUPLE1 + 1));
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        push(makeSequence(Kind::Tuple, std::move(items)));
        break;
      }
      case op::EMPTY_LIST: push(make(Kind::List)); break;
      case op::LIST: push(makeSequence(Kind::List, popMark())); break;
      case op::APPEND: {
        Value* item = pop();
        container(Kind::List, "APPEND")->items.push_back(item);
        break;
      }
      case op::APPENDS: {
        std::vector<Value*> items = popMark();
        Value* list = container(Kind::List, "APPENDS");
        list->items.insert(list->items.end(), items.begin(), items.end());
        break;
      }
      case op::EMPTY_DICT: push(make(Kind::Dict)); break;
      case op::DICT: {
        std::vector<Value*> items = popMark();
        Value* dict = make(Kind::Dict);
        addPairs(dict, items);
        push(dict);
        break;
      }
      case op::SETITEM: {
        Value* value = pop();
        Value* key = pop();
        addPairs(container(Kind::Dict, "SETITEM"), {key, value});
        break;
      }
      case op::SETITEMS: {
        std::vector<Value*> items = popMark();
        addPairs(container(Kind::Dict, "SETITEMS"), items);
        break;
      }

      case op::BINPUT: memoize(littleEndian(1)); break;
      case op::LONG_BINPUT: memoize(littleEndian(4)); break;
      case op::MEMOIZE: memoize(memo_.size()); break;
      case op::BINGET: push(recall(littleEndian(1))); break;
      case op::LONG_BINGET: push(recall(littleEndian(4))); break;

      case op::GLOBAL: {
        const std::string module = line();
        push(resolveGlobal(module, line()));
        break;
      }
      case op::STACK_GLOBAL: {
        const std::string name = expect(pop(), Kind::String, "STACK_GLOBAL name")->text;
        push(resolveGlobal(expect(pop(), Kind::String, "STACK_GLOBAL module")->text, name));
        break;
      }
      case op::INST: {
        const std::string module = line();
        resolveGlobal(module, line());
        bad("INST (protocol 0 object creation) is not part of a state dict");
      }
      case op::EXT1:
      case op::EXT2:
      case op::EXT4:
        fail(ErrorKind::Unsafe, source_,
             "refusing a copyreg extension code: it names a global that cannot be checked");
      case op::REDUCE: {
        Value* args = pop();
        Value* callable = pop();
        push(reduce(callable, args));
        break;
      }
      case op::BUILD: {
        // Only OrderedDict state (a state dict's _metadata attribute) is expected; it
        // describes module versions and carries no tensors, so it is checked and dropped.
        Value* state = pop();
        if (top()->kind != Kind::Dict || (state->kind != Kind::Dict && state->kind != Kind::None))
          bad(std::string("BUILD of ") + described(top()->kind) + " with " + described(state->kind) +
              " is not part of a state dict");
        break;
      }
      case op::BINPERSID: push(persistentLoad(pop())); break;

      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", code);
        bad(std::string("unsupported pickle opcode ") + hex + " (a state dict written by torch.save never uses it)");
      }
    }
  }
  opStart_ = pos_;
  bad("pickle ends without STOP");
}

// --- the pickler --------------------------------------------------------------------------

// Writes opcodes the way CPython's pickler does for protocol 2, memo numbering included,
// so that the output matches torch.save's byte for byte.
class PickleWriter {
 public:
  std::string out;

  void opcode(uint8_t code) { out.push_back(char(code)); }
  void littleEndian(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
  }
  void memoize() {
    const uint32_t index = next_++;
    if (index < 256) {
      opcode(op::BINPUT);
      littleEndian(index, 1);
    } else {
      opcode(op::LONG_BINPUT);
      littleEndian(index, 4);
    }
  }
  void integer(int64_t v) {
    if (v >= 0 && v <= 0xff) {
      opcode(op::BININT1);
      littleEndian(uint64_t(v), 1);
    } else if (v >= 0 && v <= 0xffff) {
      opcode(op::BININT2);
      littleEndian(uint64_t(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      opcode(op::BININT);
      littleEndian(uint64_t(v), 4);
    } else {
      // The shortest two's-complement little-endian form, as pickle.encode_long gives.
      std::string b;
      for (int i = 0; i < 8; ++i) b.push_back(char((uint64_t(v) >> (8 * i)) & 0xff));
      while (b.size() > 1) {
        const auto last = static_cast<unsigned char>(b.back()), prev = static_cast<unsigned char>(b[b.size() - 2]);
        if ((last == 0x00 && !(prev & 0x80)) || (last == 0xff && (prev & 0x80))) b.pop_back();
        else break;
      }
      opcode(op::LONG1);
      littleEndian(b.size(), 1);
      out += b;
    }
  }
  void unicode(const std::string& s) {
    opcode(op::BINUNICODE);
    littleEndian(s.size(), 4);
    out += s;
    memoize();
  }
  // Objects that Python's pickler sees more than once (the same class, the same string
  // constant) are written once and then fetched from the memo.
  void shared(const std::string& identity, const std::function<void()>& writeFirst) {
    auto it = shared_.find(identity);
    if (it != shared_.end()) {
      const uint32_t index = it->second;
      opcode(index < 256 ? op::BINGET : op::LONG_BINGET);
      littleEndian(index, index < 256 ? 1 : 4);
      return;
    }
    writeFirst();
    shared_[identity] = next_ - 1;
  }
  void global(const std::string& module, const std::string& name) {
    shared("global " + module + "." + name, [&] {
      opcode(op::GLOBAL);
      out += module + "\n" + name + "\n";
      memoize();
    });
  }
  void constant(const std::string& s) {
    shared("str " + s, [&] { unicode(s); });
  }
  void tuple(c10::IntArrayRef values) {
    if (values.empty()) {
      opcode(op::EMPTY_TUPLE);
      return;
    }
    if (values.size() > 3) opcode(op::MARK);
    for (int64_t v : values) integer(v);
    opcode(values.size() > 3 ? op::TUPLE : uint8_t(op::TUPLE1 + values.size() - 1));
    memoize();
  }

 private:
  uint32_t next_ = 0;
  std::map<std::string, uint32_t> shared_;
};

}  // namespace

StateDict unpickleStateDict(const uint8_t* data, size_t size, const StorageLoader& storages,
                            const std::string& source) {
  Unpickler unpickler(data, size, storages, source);
  const Value* root = unpickler.run();
  if (root->kind != Kind::Dict)
    fail(ErrorKind::Format, source, std::string("holds ") + described(root->kind) + ", not a state dict of tensors");
  StateDict out;
  for (size_t i = 0; i < root->items.size(); i += 2) {
    const Value* key = root->items[i];
    const Value* value = root->items[i + 1];
    if (key->kind != Kind::String)
      fail(ErrorKind::Format, source,
           std::string("has ") + described(key->kind) + " as a key where a tensor name belongs");
    if (!validUtf8(key->text)) fail(ErrorKind::Format, source, "has a tensor name that is not valid UTF-8");
    if (value->kind != Kind::Tensor)
      fail(ErrorKind::Format, source,
           "entry '" + printable(key->text) + "' is " + described(value->kind) + ", not a tensor" +
               (value->kind == Kind::Dict ? ": this looks like a checkpoint holding several objects; save the model's "
                                            "state_dict() on its own"
                                          : ""));
    try {
      out.add(key->text, value->tensor);
    } catch (const Error& e) {
      rethrowWithContext(e, source);
    }
  }
  return out;
}

StateDictPickle pickleStateDict(const StateDict& tensors) {
  StateDictPickle result;
  PickleWriter w;
  w.opcode(op::PROTO);
  w.littleEndian(2, 1);
  w.global("collections", "OrderedDict");
  w.opcode(op::EMPTY_TUPLE);
  w.opcode(op::REDUCE);
  w.memoize();
  // CPython's pickler writes dict items in batches of 1000.
  const auto& entries = tensors.entries();
  for (size_t begin = 0; begin < entries.size(); begin += 1000) {
    const size_t end = std::min(entries.size(), begin + 1000);
    if (end - begin > 1) w.opcode(op::MARK);
    for (size_t i = begin; i < end; ++i) {
      const AllowedGlobal* storageClass = storageClassOf(entries[i].tensor.scalar_type());
      if (!storageClass)
        fail(ErrorKind::Format, "tensor " + entries[i].name,
             std::string("dtype ") + c10::toString(entries[i].tensor.scalar_type()) +
                 " has no typed storage class for a .pt file");
      const torch::Tensor t = entries[i].tensor.detach().to(torch::kCPU).contiguous();
      w.unicode(entries[i].name);
      w.global("torch._utils", "_rebuild_tensor_v2");
      w.opcode(op::MARK);
      w.opcode(op::MARK);  // persistent id ('storage', class, key, location, numel)
      w.constant("storage");
      w.global(storageClass->module, storageClass->name);
      w.unicode(std::to_string(result.storages.size()));
      w.constant("cpu");
      w.integer(t.numel());
      w.opcode(op::TUPLE);
      w.memoize();
      w.opcode(op::BINPERSID);
      w.integer(0);  // storage offset
      w.tuple(t.sizes());
      w.tuple(t.strides());
      w.opcode(op::NEWFALSE);  // requires_grad: state dicts hold detached tensors
      w.global("collections", "OrderedDict");  // empty backward hooks
      w.opcode(op::EMPTY_TUPLE);
      w.opcode(op::REDUCE);
      w.memoize();
      w.opcode(op::TUPLE);
      w.memoize();
      w.opcode(op::REDUCE);
      w.memoize();
      result.storages.push_back(t);
    }
    w.opcode(end - begin > 1 ? op::SETITEMS : op::SETITEM);
  }
  w.opcode(op::STOP);
  result.pickle = std::move(w.out);
  return result;
}

}  // namespace igpg
