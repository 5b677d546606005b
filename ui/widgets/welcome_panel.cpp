#include "widgets/welcome_panel.h"

#include <QFontDatabase>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace tmk::ui {

namespace {

QLabel* paragraph(const QString& html, QWidget* parent)
{
    auto* label = new QLabel(html, parent);
    label->setWordWrap(true);
    label->setTextFormat(Qt::RichText);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::LinksAccessibleByMouse);
    label->setOpenExternalLinks(true);
    return label;
}

// A command to copy: monospaced, selectable, on a code-block background (theme.cpp styles role=code).
QLabel* codeBlock(const QString& text, QWidget* parent)
{
    auto* label = new QLabel(text, parent);
    label->setProperty("role", QStringLiteral("code"));
    label->setTextFormat(Qt::PlainText);
    label->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    label->setWordWrap(true);
    return label;
}

} // namespace

WelcomePanel::WelcomePanel(QWidget* parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("welcomePanel"));
    // The text sits in a centred column of a readable width.
    auto* outer = new QHBoxLayout(this);
    auto* content = new QWidget(this);
    content->setMaximumWidth(fontMetrics().horizontalAdvance(QLatin1Char('M')) * 58);
    outer->addStretch(1);
    outer->addWidget(content, 0);
    outer->addStretch(1);

    auto* column = new QVBoxLayout(content);
    column->setSpacing(fontMetrics().height() * 3 / 4);
    column->addStretch(1);

    auto* heading = new QLabel(tr("Welcome to Tastemaker"), content);
    heading->setProperty("role", QStringLiteral("heading"));
    QFont headingFont = heading->font();
    headingFont.setPointSizeF(headingFont.pointSizeF() * 1.5);
    headingFont.setWeight(QFont::DemiBold);
    heading->setFont(headingFont);
    column->addWidget(heading);

    column->addWidget(
        paragraph(tr("Tastemaker makes music from a text prompt with Meta's MusicGen, running on this computer. "
                     "Thirteen sliders steer it towards or away from qualities such as energy, acousticness or "
                     "popularity by blending LoRA adapters from an <i>adapter bank</i> into the model."),
            content));
    column->addWidget(
        paragraph(tr("<b>Getting a real model.</b> On a machine with internet, download a Hugging Face MusicGen folder "
                     "saved with safetensors, e.g. <code>facebook/musicgen-small</code>:"),
            content));
    column->addWidget(codeBlock(
        QStringLiteral("huggingface-cli download facebook/musicgen-small --local-dir musicgen-small"), content));
    column->addWidget(
        paragraph(tr("Then copy the folder here and open it. Folders with only pickle <code>.bin</code> weights are "
                     "refused, because loading a pickle can run arbitrary code."),
            content));
    m_defaultText = paragraph(QString(), content);
    m_defaultText->setObjectName(QStringLiteral("defaultModelText"));
    column->addWidget(m_defaultText);
    setDefaultModelKind(DefaultModelKind::Untrained);

    auto* buttons = new QHBoxLayout;
    m_openModel = new QPushButton(tr("Open model folder…"), content);
    m_openModel->setObjectName(QStringLiteral("openModelButton"));
    m_openModel->setDefault(true);
    m_defaultModel = new QPushButton(tr("Use the bundled default model"), content);
    m_defaultModel->setObjectName(QStringLiteral("defaultModelButton"));
    m_openBank = new QPushButton(tr("Open adapter bank…"), content);
    m_openBank->setObjectName(QStringLiteral("openBankButton"));
    buttons->addWidget(m_openModel);
    buttons->addWidget(m_defaultModel);
    buttons->addWidget(m_openBank);
    buttons->addStretch(1);
    column->addSpacing(fontMetrics().height() / 2);
    column->addLayout(buttons);
    column->addStretch(2);
    // Never narrower than the buttons.
    content->setMinimumWidth(
        buttons->sizeHint().width() + column->contentsMargins().left() + column->contentsMargins().right());

    connect(m_openModel, &QPushButton::clicked, this, &WelcomePanel::openModelRequested);
    connect(m_defaultModel, &QPushButton::clicked, this, &WelcomePanel::useDefaultModelRequested);
    connect(m_openBank, &QPushButton::clicked, this, &WelcomePanel::openBankRequested);
}

WelcomePanel::~WelcomePanel() = default;

void WelcomePanel::setDefaultModelKind(DefaultModelKind kind)
{
    if (kind == DefaultModelKind::Demo) {
        // The demo model knows only the world's tag vocabulary (models/demo/README.md lists it).
        m_defaultText->setText(
            tr("<b>The bundled demo model</b> is a small MusicGen that Tastemaker trained itself on a world of "
               "procedurally composed General MIDI songs. It is no substitute for a real checkpoint: it makes "
               "rough 16 kHz music and knows only that world's tags. It follows the genre, which comes first "
               "(rock, pop, funk, house, techno, hip hop, jazz, folk, classical, ambient, reggae, metal), then "
               "instruments and words such as <i>slow</i>, <i>fast</i>, <i>acoustic</i>, <i>electronic</i>, "
               "<i>happy</i> or <i>sad</i>, which it follows only weakly (models/demo/README.md has the "
               "measurements). Try:"
               "<ul><li><code>Rock, electric guitar, drums, fast, happy</code></li>"
               "<li><code>Jazz, piano, acoustic, slow, sad</code></li>"
               "<li><code>House, synth lead, synth, electronic, fast</code></li></ul>"));
    } else {
        m_defaultText->setText(tr("The bundled default model is tiny and <b>untrained</b>: it produces noise, but "
                                  "lets you try every control at once."));
    }
}

void WelcomePanel::setDefaultModelAvailable(bool available, const QString& reason)
{
    m_defaultModel->setEnabled(available);
    m_defaultModel->setToolTip(available ? QString() : reason);
}

} // namespace tmk::ui
