#pragma once
// The plain-C boundary between germ and libgerm_sentencepiece.so. SentencePiece carries its own
// protobuf, which must never meet LibTorch's, so the module is dlopen'ed with RTLD_DEEPBIND
// and only plain buffers cross: no C++ types, no exceptions. Memory the module allocates is
// released by germ_spm_free. Functions returning int give 0 on success; on failure they set
// *error to a module-allocated message (free it with germ_spm_free).
#include <stddef.h>
#include <stdint.h>

extern "C" {

// Bumped whenever a signature below changes, so a stale installed module is refused.
#define GERM_SPM_ABI_VERSION 1

typedef int (*germ_spm_abi_version_fn)(void);

// Trains a model from `count` sentences (not NUL-terminated: lengths given) with the
// SentencePiece trainer's command-line `options`; `seed` fixes the sampling generator.
// On success *model/*model_size hold the serialized ModelProto.
typedef int (*germ_spm_train_fn)(const char* const* sentences, const size_t* lengths, size_t count,
                                 const char* options, unsigned int seed, char** model,
                                 size_t* model_size, char** error);

// Parses a serialized ModelProto into a processor handle (release with germ_spm_unload).
typedef int (*germ_spm_load_fn)(const char* model, size_t model_size, void** handle, char** error);
typedef void (*germ_spm_unload_fn)(void* handle);

// Encodes `text` into piece ids. Every piece covers at least one byte, so a caller buffer of
// `length` entries always suffices; *count receives the number written.
typedef int (*germ_spm_encode_fn)(const void* handle, const char* text, size_t length, int32_t* ids,
                                  size_t capacity, size_t* count, char** error);

typedef int32_t (*germ_spm_piece_size_fn)(const void* handle);

// The piece text of `id`, owned by the handle (valid until unload); NULL when out of range.
typedef const char* (*germ_spm_id_to_piece_fn)(const void* handle, int32_t id, size_t* length);

// The id of the piece `piece`, or the unknown id when it is not in the vocabulary.
typedef int32_t (*germ_spm_piece_to_id_fn)(const void* handle, const char* piece, size_t length);

typedef void (*germ_spm_free_fn)(void* memory);

}  // extern "C"
