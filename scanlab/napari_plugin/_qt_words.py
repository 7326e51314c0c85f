"""The words of Qt's own dialogs, buttons and menus that scanlab's windows show (the file
dialog, message boxes' standard buttons, line edits' and spin boxes' context menus), as
messages of scanlab's catalogue: Qt ships no Kyrgyz or Pashto translation of them."""

from __future__ import annotations

from scanlab.i18n import N_

__all__ = ["QT_WORDS"]

#: (Qt's translation context, Qt's source text) -> the message of scanlab's catalogue that
#: says it; Qt's ``&`` shortcut marks are left out (a Latin letter means nothing in Kyrgyz or
#: Pashto) and ``%1`` is where Qt puts a name. Taken from what Qt 6 asks its translators for
#: in these contexts (``qtbase_*.qm``), on Linux.
QT_WORDS: dict[tuple[str, str], str] = {
    # Standard buttons (QMessageBox, QDialogButtonBox).
    ("QPlatformTheme", "OK"): N_("OK"),
    ("QDialogButtonBox", "OK"): N_("OK"),
    ("QPlatformTheme", "Open"): N_("Open"),
    ("QPlatformTheme", "Save"): N_("Save"),
    ("QPlatformTheme", "Save All"): N_("Save all"),
    ("QPlatformTheme", "Cancel"): N_("Cancel"),
    ("QPlatformTheme", "Close"): N_("Close"),
    ("QPlatformTheme", "Discard"): N_("Discard"),
    ("QPlatformTheme", "Apply"): N_("Apply"),
    ("QPlatformTheme", "Reset"): N_("Reset"),
    ("QPlatformTheme", "Restore Defaults"): N_("Restore defaults"),
    ("QPlatformTheme", "Help"): N_("Help"),
    ("QPlatformTheme", "&Yes"): N_("Yes"),
    ("QPlatformTheme", "Yes to &All"): N_("Yes to all"),
    ("QPlatformTheme", "&No"): N_("No"),
    ("QPlatformTheme", "N&o to All"): N_("No to all"),
    ("QPlatformTheme", "Abort"): N_("Abort"),
    ("QPlatformTheme", "Retry"): N_("Retry"),
    ("QPlatformTheme", "Ignore"): N_("Ignore"),
    ("QMessageBox", "Show Details..."): N_("Show details..."),
    ("QMessageBox", "Hide Details..."): N_("Hide details..."),
    # The file dialog: labels, buttons, tool tips, side bar, context menu, questions.
    ("QFileDialog", "Look in:"): N_("Look in:"),
    ("QFileDialog", "&Look in:"): N_("Look in:"),
    ("QFileDialog", "File &name:"): N_("File name:"),
    ("QFileDialog", "Files of type:"): N_("Files of type:"),
    ("QFileDialog", "Files of &type:"): N_("Files of type:"),
    ("QFileDialog", "Directory:"): N_("Folder:"),
    ("QFileDialog", "Open"): N_("Open"),
    ("QFileDialog", "&Open"): N_("Open"),
    ("QFileDialog", "&Save"): N_("Save"),
    ("QFileDialog", "&Choose"): N_("Choose"),
    ("QFileDialog", "Save As"): N_("Save as"),
    ("QFileDialog", "Find Directory"): N_("Find a folder"),
    ("QFileDialog", "Back"): N_("Back"),
    ("QFileDialog", "Go back"): N_("Back"),
    ("QFileDialog", "Forward"): N_("Forward"),
    ("QFileDialog", "Go forward"): N_("Forward"),
    ("QFileDialog", "Parent Directory"): N_("Parent folder"),
    ("QFileDialog", "Go to the parent directory"): N_("Parent folder"),
    ("QFileDialog", "Create New Folder"): N_("Create a new folder"),
    ("QFileDialog", "Create a New Folder"): N_("Create a new folder"),
    ("QFileDialog", "List View"): N_("List view"),
    ("QFileDialog", "Change to list view mode"): N_("List view"),
    ("QFileDialog", "Detail View"): N_("Detail view"),
    ("QFileDialog", "Change to detail view mode"): N_("Detail view"),
    ("QFileDialog", "Sidebar"): N_("Places"),
    ("QFileDialog", "List of places and bookmarks"): N_("Places"),
    ("QFileDialog", "Files"): N_("Files"),
    ("QFileDialog", "Recent Places"): N_("Recent places"),
    ("QFileDialog", "My Computer"): N_("Computer"),
    ("QFileDialog", "&Rename"): N_("Rename"),
    ("QFileDialog", "&Delete"): N_("Delete"),
    ("QFileDialog", "Delete"): N_("Delete"),
    ("QFileDialog", "Remove"): N_("Remove"),
    ("QFileDialog", "Show &hidden files"): N_("Show hidden files"),
    ("QFileDialog", "&New Folder"): N_("New folder"),
    ("QFileDialog", "New Folder"): N_("New folder"),
    ("QFileDialog", "Show "): N_("Show "),
    ("QFileDialog", "All Files (*)"): N_("All files (*)"),
    ("QFileDialog", "All files (*)"): N_("All files (*)"),
    ("QFileDialog", "Directories"): N_("Folders"),
    ("QFileDialog", "File"): N_("File"),
    ("QFileDialog", "%1 File"): N_("%1 file"),
    ("QFileDialog", "File Folder"): N_("Folder"),
    ("QFileDialog", "Folder"): N_("Folder"),
    ("QFileDialog", "Drive"): N_("Drive"),
    ("QFileDialog", "Unknown"): N_("Unknown"),
    ("QFileDialog", "Are you sure you want to delete '%1'?"): N_(
        "Are you sure you want to delete '%1'?"
    ),
    ("QFileDialog", "'%1' is write protected.\nDo you want to delete it anyway?"): N_(
        "'%1' is write protected.\nDo you want to delete it anyway?"
    ),
    ("QFileDialog", "Could not delete directory."): N_("Could not delete the folder."),
    ("QFileDialog", "%1 already exists.\nDo you want to replace it?"): N_(
        "%1 already exists.\nDo you want to replace it?"
    ),
    ("QFileDialog", "%1\nFile not found.\nPlease verify the correct file name was given."): N_(
        "%1\nFile not found.\nCheck the file name."
    ),
    (
        "QFileDialog",
        "%1\nDirectory not found.\nPlease verify the correct directory name was given.",
    ): N_("%1\nFolder not found.\nCheck the folder name."),
    # The file dialog's list: column headers, kinds of entry, renaming.
    ("QFileSystemModel", "Name"): N_("Name"),
    ("QFileSystemModel", "Size"): N_("Size"),
    ("QFileSystemModel", "Type"): N_("Type"),
    ("QFileSystemModel", "Kind"): N_("Type"),
    ("QFileSystemModel", "Date Modified"): N_("Date modified"),
    ("QFileSystemModel", "Computer"): N_("Computer"),
    ("QFileSystemModel", "My Computer"): N_("Computer"),
    ("QFileSystemModel", "Invalid filename"): N_("Invalid file name"),
    (
        "QFileSystemModel",
        '<b>The name "%1" cannot be used.</b><p>Try using another name, with fewer '
        "characters or no punctuation marks.",
    ): N_(
        '<b>The name "%1" cannot be used.</b><p>Try another name, shorter or without '
        "punctuation marks."
    ),
    ("QAbstractFileIconProvider", "Folder"): N_("Folder"),
    ("QAbstractFileIconProvider", "Drive"): N_("Drive"),
    ("QAbstractFileIconProvider", "File"): N_("File"),
    ("QAbstractFileIconProvider", "%1 File"): N_("%1 file"),
    # Dock widgets' buttons (scanlab's widgets are docks; napari draws its own title bar,
    # so these are mostly what screen readers say).
    ("QDockWidget", "Float"): N_("Float"),
    ("QDockWidget", "Close"): N_("Close"),
    ("QDockWidget", "Closes the dock widget"): N_("Close the panel"),
    ("QDockWidget", "Undocks and re-attaches the dock widget"): N_("Detach or re-attach the panel"),
    # Context menus of text boxes and number boxes.
    ("QLineEdit", "&Undo"): N_("Undo"),
    ("QLineEdit", "&Redo"): N_("Redo"),
    ("QLineEdit", "Cu&t"): N_("Cut"),
    ("QLineEdit", "&Copy"): N_("Copy"),
    ("QLineEdit", "&Paste"): N_("Paste"),
    ("QLineEdit", "Delete"): N_("Delete"),
    ("QLineEdit", "Select All"): N_("Select all"),
    ("QAbstractSpinBox", "&Select All"): N_("Select all"),
    ("QAbstractSpinBox", "&Step up"): N_("Step up"),
    ("QAbstractSpinBox", "Step &down"): N_("Step down"),
}
