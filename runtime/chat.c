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

/* `text` minus surrounding whitespace when the format trims contents. */
static struct chat_part content(const struct chat_format *f, const char *text)
{
    int n = (int)strlen(text);
    if (f->trim) {
        while (n > 0 && isspace((unsigned char)text[0]))
            text++, n--;
        while (n > 0 && isspace((unsigned char)text[n - 1]))
            n--;
    }
    return (struct chat_part){ text, n, true };
}

static struct chat_part literal(const char *text) { return (struct chat_part){ text, (int)strlen(text), false }; }

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

int chat_turn_parts(const struct chat_format *f, bool first, const char *system, const char *user, bool reply_stopped,
                    struct chat_part parts[CHAT_MAX_PARTS])
{
    int n = 0;
    const bool with_system = first && system;
    if (with_system) {
        parts[n++] = literal(f->prefix[CHAT_SYSTEM]);
        parts[n++] = content(f, system);
        parts[n++] = literal(f->suffix[CHAT_SYSTEM]);
    } else if (!first) {
        /* the stop token that ended the reply is in the context already */
        const char *rest = f->suffix[CHAT_ASSISTANT];
        parts[n++] = literal(reply_stopped ? rest + special_at(rest) : rest);
    }
    parts[n++] = literal(with_system && f->user_after_system ? f->user_after_system : f->prefix[CHAT_USER]);
    parts[n++] = content(f, user);
    parts[n++] = literal(f->suffix[CHAT_USER]);
    parts[n++] = literal(f->prefix[CHAT_ASSISTANT]);
    return n;
}

char *chat_turn_text(const struct chat_format *f, bool first, const char *system, const char *user,
                     bool reply_stopped)
{
    struct chat_part parts[CHAT_MAX_PARTS];
    const int n = chat_turn_parts(f, first, system, user, reply_stopped, parts);
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)parts[i].len;
    char *text = malloc(len + 1), *at = text;
    for (int i = 0; text && i < n; i++) {
        memcpy(at, parts[i].text, (size_t)parts[i].len);
        at += parts[i].len;
    }
    if (text)
        *at = '\0';
    return text;
}
