"""Every fixed sentence the assistant may say. All other text it shows is quoted from the sources."""
from __future__ import annotations

GREET = "Hello. I can answer questions about rare cancers from trusted sources, and help you find clinical trials and patient organisations. What would you like to know?"
GOODBYE = "Goodbye, and take care. You can come back any time."
THANKS = "You're welcome. Is there anything else you would like to know?"
CAPABILITIES = (
    "I can answer general questions about rare cancers, quoting trusted sources such as the U.S. National "
    "Cancer Institute, and show you each source. I can also look for clinical trials and patient "
    "organisations. I can't diagnose, and I can't advise on your own treatment: your care team can."
)
COVERED_CANCERS = (
    "My sources have information about {count} cancers and cancer syndromes. {groups} The full list, with "
    "every source, is on the Cancers page of this site (/cancers). Ask me about any of them by name: I "
    "recognise many more, and I'll tell you plainly when my sources don't cover one."
)
COVERED_GROUP = "{family}: {names}."
GROUP_EXAMPLES = 4  # the cancers named per group in the chat; the Cancers page lists them all
HANDOFF = (
    "I can't put you through to a person from here. Please contact your specialist nurse or your care "
    "team directly, using the phone number in your appointment letter or from your hospital. If you feel "
    "unwell now, call your hospital's helpline; in an emergency call 112 (EU), 999 (UK) or 911 (US)."
)
FEEDBACK = "Thank you for your feedback. It helps the people who look after this assistant improve it."
OUT_OF_SCOPE = (
    "I'm sorry, I can only help with questions about rare cancers, clinical trials and patient organisations."
)
FALLBACK = "I'm sorry, I didn't understand that. You can ask me about a rare cancer, a clinical trial or a patient organisation."
ANSWER_INTRO = "Here is what the sources say:"
NOT_SURE = (
    "I'm not sure: I couldn't find a passage in my sources that answers this. The closest sources I have "
    "are below. Your specialist nurse or doctor is the best person to ask."
)
# A question only the person's own care team can answer: who can, and what to ask them ({possessive}: your, his...).
PERSONAL = {
    "treatment": ("I can't advise on {possessive} own treatment: {possessive} care team, who know {possessive} "
                  "situation, are the ones to decide it with. You could ask them: what are the options, what are "
                  "the benefits and risks of each, and what happens if we wait?"),
    "diagnosis": ("I can't tell whether {person} {has} it: only a doctor who can examine {object} and arrange tests "
                  "can. You could ask {possessive} GP or specialist: what could be causing this, and which tests would "
                  "show it?"),
    "outcome": ("I can't say what will happen to {object}: nobody can from general information. {Possessive} "
                "specialist team know {possessive} situation and are the ones to ask. You could ask them: what is "
                "the outlook for {possessive} type and stage of cancer, and what might change it?"),
    "feelings": ("I'm sorry you're going through this; it's a lot to take in, and feeling this way is normal. "
                 "Talking can help: {possessive} specialist nurse, or a patient organisation where people have been "
                 "through the same. I can look for one for you, or tell you more about the cancer."),
}
ASPECT_NOT_IN_SOURCES = ("My sources on {cancer} don't cover {topic}; your specialist team can tell you about it. "
                         "Here is what they do say:")
GENERAL_INFORMATION = "Here is general information from the sources, which may help you prepare your questions."
ASK_CANCER_TYPE_TRIAL = "Which type of cancer should I look for trials for?"
ASK_CANCER_TYPE_ORGANISATION = "Which type of cancer, or which country, should I look for organisations for?"
TRIALS_FOUND = "I found {count} {studies} for {cancer}{where}{person}:"
TRIALS_ELSEWHERE = "I found no study for {cancer}{person} in {missing} in my records. {elsewhere}, I found {count} {studies}:"
NONE_RECRUITING = "None of the studies I know of is recruiting now. "
TRIALS_OTHER_KINDS = ("There are also studies of {kinds}, kinds of {cancer} by another name: ask me for them by name "
                      "if that is the diagnosis.")
TRIALS_MORE = "There are more: search them all on the reference page, or narrow this search by city, age, sex or phase."
TRIALS_MAY_TAKE_PART = ("From what you told me, you may be able to take part in a study whose criteria all fit; "
                        "the study team decides, using the full eligibility criteria. Ask its contact, on the card or "
                        "the registry page, or your specialist team.")
TRIALS_ASK_PERSON = ("To check which of these studies might fit, tell me {wanted} (for example \"{example}\"). "
                     "I won't guess them.")
TRIALS_STALE = ("These registry studies were last brought up to date from ClinicalTrials.gov on {date}, more than "
                "{days} days ago: check the registry page for a study's current status.")
TRIALS_NEVER_SYNCED = ("These registry studies come from a stored copy of ClinicalTrials.gov records that has never "
                       "been synced with the registry: check the registry page for a study's current status.")
NO_TRIALS = (
    "I couldn't find a trial for {cancer}{where} in my records. It's possible there is no trial you can "
    "take part in yet. You can search the trial registries and ask your cancer specialist or specialist "
    "nurse about trials:"
)
ORGANISATIONS_FOUND = "I found {count} {organisations}{about}:"
NO_ORGANISATIONS = (
    "I couldn't find an organisation{about} in my records. These sources list patient organisations and "
    "treatment centres for rare cancers:"
)
NOT_COVERED = (
    "I don't have information about {cancer} in my sources, so I can't answer this without guessing, and I "
    "won't quote a page about a different cancer. I can tell you about rare cancers in general, look for patient "
    "organisations, or look for clinical trials. Your specialist team is the best source of information about {cancer}."
)
BROADER_COVERED = "{cancer} is a kind of {broader}, and my sources do have information about {broader}."
GENERAL_PAGES_ONLY = (
    "My sources have no page about {cancer}, so this is all I can tell you: a general page about rare "
    "cancers mentions it."
)
GENERAL_PAGES_MENTION = "A general page about rare cancers mentions {cancer}:"
FROM_PAGES_ABOUT = "You didn't name a cancer, so this is from pages about {cancers}; it may differ for other cancers:"
GROUP_PAGES = "My sources have no page on {group} as a whole, so this is from their pages on {cancers}:"
GROUP_KINDS = "My sources cover these kinds of {group}: {kinds}."
PARTLY_COVERED = "I don't have information about {uncovered} in my sources. Here is what they say about {covered}:"
UNKNOWN_CANCER = "I don't know that type of cancer yet. Could you write its name another way?"

ALL = [value for name, value in sorted(globals().items()) if name.isupper() and isinstance(value, str)]
