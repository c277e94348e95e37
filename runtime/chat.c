#include "chat.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Each format as the model was trained on it (the role names are the
 * ones their templates write). */
static const struct chat_format formats[] = {
    /* BitNet b1.58 2B4T: "User: hi<|eot_id|>Assistant: " after BOS */
    { .name = "bitnet",
      .prefix = { "System: ", "User: ", "Assistant: " },
      .suffix = { "<|eot_id|>", "<|eot_id|>", "<|eot_id|>" } },
    { .name = "llama3",
      .prefix = { "<|start_header_id|>system<|end_header_id|>\n\n", "<|start_header_id|>user<|end_header_id|>\n\n",
                  "<|start_header_id|>assistant<|end_header_id|>\n\n" },
      .suffix = { "<|eot_id|>", "<|eot_id|>", "<|eot_id|>" },
      .trim = true },
    { .name = "llama2",
      .prefix = { "[INST] <<SYS>>\n", "[INST] ", "" },
      .suffix = { "\n<</SYS>>\n\n", " [/INST]", "</s>" },
      .user_after_system = "" },
    { .name = "chatml",
      .prefix = { "<|im_start|>system\n", "<|im_start|>user\n", "<|im_start|>assistant\n" },
      .suffix = { "<|im_end|>\n", "<|im_end|>\n", "<|im_end|>\n" } },
    /* Falcon 3: the reply ends with the model's EOS */
    { .name = "falcon3",
      .prefix = { "<|system|>\n", "<|user|>\n", "<|assistant|>\n" },
      .suffix = { "\n", "\n", "\n" } },
    { .name = "zephyr",
      .prefix = { "<|system|>\n", "<|user|>\n", "<|assistant|>\n" },
      .suffix = { "<|endoftext|>\n", "<|endoftext|>\n", "<|endoftext|>\n" } },
};

#define N_FORMATS (sizeof formats / sizeof formats[0])

const struct chat_format *chat_format_named(const char *name)
{
    for (size_t i = 0; i < N_FORMATS; i++)
        if (!strcmp(formats[i].name, name))
            return &formats[i];
    return NULL;
}

const char *chat_format_names(void)
{
    return "bitnet, llama3, llama2, chatml, falcon3, zephyr";
}

static bool has(const char *text, const char *marker) { return strstr(text, marker) != NULL; }

const struct chat_format *chat_format_detect(const char *t)
{
    const char *name = NULL;
    if (chat_format_named(t))
        name = t;
    else if (has(t, "<|im_start|>"))
        name = "chatml";
    else if (has(t, "[INST]"))
        name = "llama2";
    else if (has(t, "<|assistant|>") && has(t, "<|user|>"))
        name = has(t, "<|endoftext|>") ? "zephyr" : "falcon3";
    else if (has(t, "<|start_header_id|>") && has(t, "<|end_header_id|>"))
        name = "llama3";
    else if (has(t, "<|eot_id|>") && has(t, "Assistant: "))
        name = "bitnet";
    return name ? chat_format_named(name) : NULL;
}

/* A growing string; `failed` once out of memory. */
struct text {
    char *s;
    size_t len, cap;
    bool failed;
};

static void append(struct text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        const size_t cap = (t->len + n + 1) * 2;
        char *grown = realloc(t->s, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->s = grown;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void append_str(struct text *t, const char *s) { append(t, s, strlen(s)); }

static void append_content(struct text *t, const struct chat_format *f, const char *content)
{
    size_t n = strlen(content);
    if (f->trim) {
        while (n > 0 && isspace((unsigned char)content[0]))
            content++, n--;
        while (n > 0 && isspace((unsigned char)content[n - 1]))
            n--;
    }
    append(t, content, n);
}

/* Length of the special token text ("<|...|>", "</s>") at the start of s, or 0. */
static size_t special_at(const char *s)
{
    if (!strncmp(s, "</s>", 4))
        return 4;
    if (strncmp(s, "<|", 2) != 0)
        return 0;
    const char *end = strstr(s + 2, "|>");
    return end ? (size_t)(end + 2 - s) : 0;
}

const char *chat_end_token(const struct chat_format *f, char *buf, int size)
{
    const size_t n = special_at(f->suffix[CHAT_ASSISTANT]);
    if (n == 0 || n >= (size_t)size)
        return "";
    memcpy(buf, f->suffix[CHAT_ASSISTANT], n);
    buf[n] = '\0';
    return buf;
}

char *chat_turn_text(const struct chat_format *f, bool first, const char *system, const char *user,
                     bool reply_stopped)
{
    struct text t = { 0 };
    append_str(&t, "");
    const bool with_system = first && system;
    if (with_system) {
        append_str(&t, f->prefix[CHAT_SYSTEM]);
        append_content(&t, f, system);
        append_str(&t, f->suffix[CHAT_SYSTEM]);
    } else if (!first) {
        /* the stop token that ended the reply is in the context already */
        const char *rest = f->suffix[CHAT_ASSISTANT];
        append_str(&t, reply_stopped ? rest + special_at(rest) : rest);
    }
    append_str(&t, with_system && f->user_after_system ? f->user_after_system : f->prefix[CHAT_USER]);
    append_content(&t, f, user);
    append_str(&t, f->suffix[CHAT_USER]);
    append_str(&t, f->prefix[CHAT_ASSISTANT]);
    if (t.failed) {
        free(t.s);
        return NULL;
    }
    return t.s;
}
