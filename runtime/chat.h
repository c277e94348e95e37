/* Chat formats: how a conversation is written as text for a model trained
 * on one (special tokens such as <|eot_id|> appear as their text and are
 * encoded as those tokens).
 *
 * A message is a role's prefix, the content and the role's suffix; the
 * reply is generated after the assistant's prefix and ends at a stop token
 * (the model's EOS or EOT, or the special token the assistant's suffix
 * begins with).  Chat keeps one KV cache for the whole conversation, so
 * each turn adds only its own text (chat_turn_text).
 *
 * The format comes from the GGUF's tokenizer.chat_template (a Jinja
 * template, recognised by the markers it contains, as llama.cpp does) or
 * is named with --chat-format. */
#ifndef RYOT_CHAT_H
#define RYOT_CHAT_H

#include <stdbool.h>

enum chat_role { CHAT_SYSTEM, CHAT_USER, CHAT_ASSISTANT };

struct chat_format {
    const char *name;
    const char *prefix[3], *suffix[3];  /* by enum chat_role */
    /* llama2: a user message that directly follows the system message
     * continues its [INST] block (NULL: every user message is the same) */
    const char *user_after_system;
    bool trim;  /* contents are stripped of surrounding whitespace (llama3) */
};

/* The format called `name`, or NULL. */
const struct chat_format *chat_format_named(const char *name);
/* The format a chat template is written for, or NULL if unknown. */
const struct chat_format *chat_format_detect(const char *template_text);
/* "bitnet, llama3, ..." for messages. */
const char *chat_format_names(void);

/* One piece of a turn's text: the format's own text, where special
 * tokens are written as text, or a message's content, which is encoded as
 * plain text (a user typing "<|eot_id|>" does not end a turn). */
struct chat_part {
    const char *text;
    int len;
    bool content;
};
enum { CHAT_MAX_PARTS = 10 };

/* The parts of one turn, in order (returns their count): on the first
 * turn the system message (if `system` is not NULL), else what remains of
 * the previous reply's suffix (all of it when the reply ended without a
 * stop token: `reply_stopped` false); then the user's message and the
 * assistant's prefix.  The parts point into f and the messages. */
int chat_turn_parts(const struct chat_format *f, bool first, const char *system, const char *user, bool reply_stopped,
                    struct chat_part parts[CHAT_MAX_PARTS]);

/* The same turn as one string (malloc'd, NULL if out of memory). */
char *chat_turn_text(const struct chat_format *f, bool first, const char *system, const char *user,
                     bool reply_stopped);

/* The special token text the assistant's suffix begins with ("<|eot_id|>"),
 * copied into buf, or "" if it begins with plain text. */
const char *chat_end_token(const struct chat_format *f, char *buf, int size);

#endif
